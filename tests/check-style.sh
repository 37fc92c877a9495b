#!/bin/sh
# Refuse banned calls (curl's lesson): use snprintf, sized copies, strtol
# with end checks instead.
cd "$(dirname "$0")/.." || exit 2
bad=$(grep -rnE '(^|[^A-Za-z0-9_])(sprintf|vsprintf|strcpy|strcat|strtok|gets|atoi|atol)\(' src tests/unit --include='*.c' --include='*.h')
if [ -n "$bad" ]; then
	echo "check-style: banned calls:" >&2
	echo "$bad" >&2
	exit 1
fi
echo "check-style: ok"
