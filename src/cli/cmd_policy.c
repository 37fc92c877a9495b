/* clean-release policy show | publish */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "facade/dto.h"
#include "util/error.h"
#include "util/json.h"
#include "domain/codec.h"

static const struct cr_cli_option show_opts[] = {
	CR_OPT_END,
};

static const struct cr_cli_option publish_opts[] = {
	CR_OPT_STRING("policy", CR_CLI_REQUIRED, "FILE",
		      "policy document, at most " CR_CLI_INPUT_MAX_TEXT),
	CR_OPT_STRING("registry", CR_CLI_REQUIRED, "FILE",
		      "registry document, at most " CR_CLI_INPUT_MAX_TEXT),
	CR_OPT_ACTOR,
	CR_OPT_END,
};

static void view_text(const cr_cli *c, const cr_policy_view *v)
{
	char d1[32], d2[32], oid[32];

	cr_cli_out(c, "namespace  %s\n", v->ns);
	cr_cli_out(c, "policy     %s version %" PRId64 ", digest %s\n", v->policy.id, v->policy.version,
		   cr_cli_abbrev(v->policy.digest, 8, d1, sizeof(d1)));
	cr_cli_out(c, "registry   %s version %" PRId64 ", digest %s\n", v->registry.id, v->registry.version,
		   cr_cli_abbrev(v->registry.digest, 8, d2, sizeof(d2)));
	cr_cli_out(c, "from       %s at %s\n", v->policy.ref, cr_cli_abbrev(v->policy.commit, 12, oid, sizeof(oid)));
}

static int cmd_show(cr_cli *c)
{
	cr_policy_view v = {0};
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_policy_show(c->f, &v)) < 0)
		goto cleanup;
	if (c->json)
		rc = cr_cli_print_json(cr_policy_view_to_json(&v));
	else
		view_text(c, &v);
cleanup:
	cr_policy_view_clear(&v);
	return rc;
}

static int cmd_publish(cr_cli *c)
{
	const char *ppath = cr_cli_str(c, "policy"), *rpath = cr_cli_str(c, "registry");
	char *pbuf = NULL, *rbuf = NULL;
	size_t plen = 0, rlen = 0;
	cr_policy_view v = {0};
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_cli_read_input(ppath, ppath, &pbuf, &plen)) < 0 ||
	    (rc = cr_cli_read_input(rpath, rpath, &rbuf, &rlen)) < 0)
		goto cleanup;
	if ((rc = cr_facade_policy_publish(c->f, pbuf, plen, ppath, rbuf, rlen, rpath, c->actor, &v)) < 0)
		goto cleanup;
	if (c->json) {
		rc = cr_cli_print_json(cr_policy_view_to_json(&v));
	} else {
		char oid[32];
		cr_cli_out(c, "published policy %s version %" PRId64 " and registry %s version %" PRId64 " at %s\n",
			   v.policy.id, v.policy.version, v.registry.id, v.registry.version,
			   cr_cli_abbrev(v.policy.commit, 12, oid, sizeof(oid)));
	}
cleanup:
	cr_policy_view_clear(&v);
	free(pbuf);
	free(rbuf);
	return rc;
}

/* The signers of the policy in force in git's allowed-signers format
 * (gpg.ssh.allowedSignersFile), their roles as a comment above each. */
static int cmd_allowed_signers(cr_cli *c)
{
	cr_policy_view v = {0};
	cr_policy p = {0};
	cJSON *doc = NULL;
	int rc;

	if ((rc = cr_cli_begin(c)) < 0 || (rc = cr_facade_policy_show(c->f, &v)) < 0)
		goto cleanup;
	if ((rc = cr_json_parse(&doc, v.policy_json, strlen(v.policy_json), "policy.json")) < 0 ||
	    (rc = cr_policy_from_json(doc, &p)) < 0)
		goto cleanup;
	printf("# the signers of policy %s version %" PRId64 " (%s at %.12s); for gpg.ssh.allowedSignersFile\n",
	       p.policy_id, p.version, v.policy.ref, v.policy.commit);
	for (size_t i = 0; i < p.signer_count; i++) {
		const cr_signer *sg = &p.signers[i];
		printf("# %s:", sg->principal);
		for (unsigned r = 1; r <= CR_SIGNER_POLICY_ADMIN; r <<= 1)
			if (sg->roles & r)
				printf(" %s", cr_role_name(r));
		printf("\n%s namespaces=\"git\" %s\n", sg->principal, sg->public_key);
	}
cleanup:
	cr_policy_clear(&p);
	cJSON_Delete(doc);
	cr_policy_view_clear(&v);
	return rc;
}

static const struct cr_cli_command commands[] = {
	{"show", cmd_show, show_opts, "show the trusted policy and registry", NULL, CR_CLI_READS},
	{"publish", cmd_publish, publish_opts, "validate and publish a policy and registry",
	 "Both documents are checked against their schemas and every pattern must compile;\n"
	 "they are then appended to the policy ref, the only source of trusted policy.", 0},
	{"allowed-signers", cmd_allowed_signers, show_opts, "the policy's signers as git's allowed-signers file",
	 "One line a signer, `<principal> namespaces=\"git\" <public key>`, with its roles\n"
	 "in a comment above: point gpg.ssh.allowedSignersFile at it and git log\n"
	 "--show-signature and git verify-commit check the ledger's signed commits.", CR_CLI_READS},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_policy = {"policy", commands};
