#!/bin/sh
# gyre-diff.sh — preview, on a pull request, what merging it would change in
# the cluster: for every gyre Application whose source path the pull request
# touches, run `gyre app diff` and write one markdown document fit for a
# pull-request comment.
#
# Usage: gyre-diff.sh BASE HEAD [CHECKOUT]
#
#   BASE      the pull request's base, a commit or ref of CHECKOUT
#             (e.g. origin/main or the base commit's SHA)
#   HEAD      the pull request's head, a commit or ref of CHECKOUT
#   CHECKOUT  the git checkout of the GitOps repository, with HEAD checked
#             out (default: the current directory)
#
# The paths the pull request touches are `git diff --name-only BASE...HEAD`
# (what HEAD changed since it forked from BASE). An Application is touched
# when one of them lies under its source path (every path, for a source at
# the repository's root). Value files and bases outside that path are not
# followed: name such Applications in GYRE_APPS.
#
# Environment:
#
#   GYRE_SERVER, GYRE_TOKEN  gyre's API and a token; a read-only token is
#                      enough. (Or a config file written by `gyre login`.)
#   GYRE_REPO_URL      only Applications whose repoURL contains this text
#                      (default: all; set it when gyre deploys from several
#                      repositories)
#   GYRE_DIFF_MODE     local (the default): render the Application's path
#                      of CHECKOUT here, as the agent would, and diff that
#                      (`gyre app diff --local CHECKOUT`); revision: have gyre's server fetch the
#                      pull request's ref and render it (`gyre app diff
#                      --revision`), no render here
#   GYRE_DIFF_REVISION the ref the server fetches in revision mode, e.g.
#                      refs/pull/7/head or a branch name (default: HEAD)
#   GYRE_APPS          more Applications to diff, "namespace/name ..."
#   GYRE               the gyre command (default: gyre)
#   OUTPUT             the file to write the markdown to (default: stdout)
#
# Needs git, jq and gyre. Exits 0 whether or not anything would change (the
# document says); 1 on an error: bad arguments, gyre's API not reachable, or
# an Application that could not be compared (its section says why).
set -eu

usage() {
	echo "usage: $0 BASE HEAD [CHECKOUT]" >&2
	exit 1
}

[ $# -ge 2 ] && [ $# -le 3 ] || usage
base=$1
head=$2
checkout=${3:-.}
gyre=${GYRE:-gyre}
mode=${GYRE_DIFF_MODE:-local}
revision=${GYRE_DIFF_REVISION:-$head}
case $mode in
local | revision) ;;
*)
	echo "$0: GYRE_DIFF_MODE=$mode: want local or revision" >&2
	exit 1
	;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

git -C "$checkout" diff --name-only "$base...$head" >"$work/changed"
"$gyre" app list -o json >"$work/apps.json"
# One line per Application: namespace, name, path ("." for the root).
jq -r --arg repo "${GYRE_REPO_URL:-}" \
	'.[] | select(($repo == "") or ((.repoURL // "") | contains($repo)))
	     | [.namespace, .name, ((.path // "") | if . == "" then "." else . end)] | @tsv' \
	"$work/apps.json" >"$work/apps"

# touched reports whether a changed path lies under the source path $1.
touched() {
	dir=${1%/}
	dir=${dir#./}
	if [ "$dir" = "." ] || [ -z "$dir" ]; then
		[ -s "$work/changed" ]
		return
	fi
	while IFS= read -r f; do
		case $f in
		"$dir" | "$dir"/*) return 0 ;;
		esac
	done <"$work/changed"
	return 1
}

: >"$work/selected"
tab=$(printf '\t')
while IFS="$tab" read -r ns name path; do
	if touched "$path"; then
		printf '%s\t%s\t%s\n' "$ns" "$name" "$path" >>"$work/selected"
	fi
done <"$work/apps"
for extra in ${GYRE_APPS:-}; do
	ns=${extra%%/*}
	name=${extra#*/}
	if ! awk -F "$tab" -v ns="$ns" -v name="$name" '$1 == ns && $2 == name { found = 1 } END { exit !found }' "$work/selected"; then
		printf '%s\t%s\t-\n' "$ns" "$name" >>"$work/selected"
	fi
done

status=0
out=$work/out.md
{
	echo "## gyre: what this pull request changes"
	echo
	if [ ! -s "$work/selected" ]; then
		echo "No gyre Application deploys from the paths this pull request changes."
	fi
} >"$out"
while IFS="$tab" read -r ns name _; do
	if [ "$mode" = local ]; then
		# --local takes the checkout's root: the Application's path (and
		# its other options) come from the live Application.
		set -- --local "$checkout"
	else
		set -- --revision "$revision"
	fi
	code=0
	"$gyre" app diff "$name" -n "$ns" -o markdown "$@" </dev/null >"$work/diff.md" 2>"$work/diff.err" || code=$?
	case $code in
	0 | 1) cat "$work/diff.md" >>"$out" ;;
	*)
		status=1
		{
			echo "### gyre diff: $ns/$name"
			echo
			echo "Could not compare:"
			echo
			echo '```'
			cat "$work/diff.err"
			echo '```'
		} >>"$out"
		;;
	esac
	echo >>"$out"
done <"$work/selected"

if [ -n "${OUTPUT:-}" ]; then
	cp "$out" "$OUTPUT"
else
	cat "$out"
fi
exit "$status"
