#!/bin/sh
# multi-gitter run "$PWD/harden.sh" -O my-org -B compose-harden/segmentation \
#   -m "compose-harden: per-tier networks, internal data networks" --pr-title "Segment the Docker Compose networks"
#
# multi-gitter runs this in the root of each repository and opens a pull request when it exits 0
# and left changes. The contract:
#   hardened, findings for a human remain  -> exit 0, compose files changed   -> a pull request
#   nothing to change                      -> exit 0, nothing changed         -> no pull request
#   no compose file in the repository      -> exit 0, nothing changed         -> no pull request
#   a compose file could not be processed  -> exit 2                          -> no pull request
# The Markdown report of each repository is saved outside it (it must not become part of the
# change), in $COMPOSE_HARDEN_BODIES/<owner>_<repo>.md, to be set as the pull request's body.
set -u
bodies="${COMPOSE_HARDEN_BODIES:-${TMPDIR:-/tmp}/compose-harden-bodies}"
mkdir -p "$bodies"
name=$(printf '%s' "${REPOSITORY:-repository}" | tr '/' '_')
if ! git ls-files | grep -Eq '(^|/)(docker-)?compose(\.[^/]+)?\.ya?ml$'; then
  exit 0
fi
compose-harden --write --fail-on error --format markdown . > "$bodies/$name.md"
