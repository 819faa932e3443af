#!/usr/bin/env bash
# A reviewer group's walkthrough of `triage review` in a real terminal (tmux, 120x40), checked against the export.
#
#   bench/tmux_walkthrough.sh            # PY=.venv/bin/python by default; WALK_MODEL=default (the bundled MiniLM)
#
# In a fresh TRIAGE_HOME under /tmp: alice and bob review the three bundled example drafts blind, one after the
# other, in one session; the red-team draft is then revised (its file edited) and queued again, which makes it v2;
# alice decides v2, undoes it (u) and redoes it (U); then `triage review export`. The export's rows must be the
# expected ones (reviewer, decision, version, blind flag, undo written as docs/REVIEW.md says), else exit 1.
# Pane captures and the export are left in $WALK_DIR (printed at the start).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
MODEL=${WALK_MODEL:-default}
WALK_DIR=${WALK_DIR:-$(mktemp -d /tmp/triage-walk.XXXXXX)}
SOCKET=triage-walk-$$
SESSION=walk
export TRIAGE_HOME=$WALK_DIR/home PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
mkdir -p "$WALK_DIR/drafts" "$WALK_DIR/panes"
cp "$ROOT"/triage/data/examples/*.md "$WALK_DIR/drafts/"
echo "walkthrough in $WALK_DIR (model: $MODEL, python: $PY)"

tm() { tmux -L "$SOCKET" "$@"; }
cleanup() { tm kill-server 2>/dev/null || true; }
trap cleanup EXIT

pane() { tm capture-pane -p -t "$SESSION"; }

# wait_for TEXT [SECONDS]: until the pane shows TEXT (fixed string); on a timeout, show the pane and fail.
wait_for() {
    local text=$1 limit=${2:-60} waited=0
    until pane | grep -qF -- "$text"; do
        sleep 0.2
        waited=$((waited + 1))
        if [ "$waited" -ge $((limit * 5)) ]; then
            echo "TIMEOUT after ${limit}s waiting for: $text" >&2
            pane >&2
            exit 1
        fi
    done
}

# snap NAME: keep the pane as it is now, and print it.
snap() {
    pane > "$WALK_DIR/panes/$1.txt"
    echo "----- pane: $1 -----"
    sed -e 's/[[:space:]]*$//' "$WALK_DIR/panes/$1.txt"
}

keys() { tm send-keys -t "$SESSION" "$@"; }
type_text() { tm send-keys -t "$SESSION" -l -- "$1"; }

# open REVIEWER [FILES...]: start the app in a fresh 120x40 tmux session and wait for the queue's scores.
open_app() {
    local reviewer=$1
    shift
    tm new-session -d -s "$SESSION" -x 120 -y 40 \
        "cd '$WALK_DIR' && '$PY' -m triage --model '$MODEL' review $* --session walk --reviewer $reviewer; echo EXITED \$?; sleep 600"
    wait_for "· $reviewer ·" 60
    wait_for "with probe" 900  # "scored 3 items with probe …" or "… already scored with probe …"
    sleep 0.5                  # the detail pane follows the re-sorted queue a moment later
}

quit_app() {
    keys q
    wait_for "EXITED 0" 60
    tm kill-session -t "$SESSION"
}

# decide TITLE_WORDS KEY RATIONALE: search for the draft, open the form with KEY, type the rationale, save, clear.
ENTRIES=0  # log entries so far: the status line names each saved one by its id, "(#3)"
decide() {
    ENTRIES=$((ENTRIES + 1))
    local state
    case $2 in a) state=approve ;; c) state="approve with changes" ;; r) state=restrict ;; h) state=hold ;; e) state=escalate ;; esac
    keys /
    type_text "$1"
    keys Enter
    wait_for "filters: “$1”" 10
    keys "$2"
    wait_for "ctrl+s save" 10
    [ -n "$3" ] && type_text "$3"
    keys C-s
    wait_for "saved: $state on “" 20
    pane | grep -qF "(#$ENTRIES)" || { echo "the status line does not name decision #$ENTRIES:" >&2; pane | grep -F "saved: " >&2; exit 1; }
    keys Escape
    sleep 0.3
}

# --- alice, blind -------------------------------------------------------------------------------------------------
open_app alice drafts/*.md
snap alice-opened
decide FlashMix r "fused kernels give a 3x training speedup"
decide "Red Teaming" h "needs legal review of the attack prompts"
decide Dictionary a ""
snap alice-decided
quit_app

# --- bob, blind: alice's decisions are hidden until he records his own --------------------------------------------
open_app bob
keys /
type_text FlashMix
keys Enter
wait_for "filters: “FlashMix”" 10
wait_for "you pending  others hidden until you" 10  # (the line wraps before "decide (blind)")
snap bob-blind-before-deciding
if grep -q alice "$WALK_DIR/panes/bob-blind-before-deciding.txt"; then echo "bob sees alice's decision before deciding" >&2; exit 1; fi
keys Escape
sleep 0.3
decide FlashMix r "speedup recipe is directly reusable"
wait_for "+1" 20
decide Dictionary a ""
decide "Red Teaming" e "agent jailbreak transfer, escalate"
snap bob-decided
quit_app

# --- the red-team draft is revised: the same path queued again is v2 of its item ---------------------------------
printf '\n## Revision\n\nWe withheld the attack prompts and notified the affected vendors before release.\n' >> "$WALK_DIR/drafts/red_team_agent_draft.md"
open_app alice drafts/red_team_agent_draft.md
wait_for "v2 Automated Red Teaming" 20
decide "Red Teaming" r "v2 still shows the transfer attack"
keys u
ENTRIES=$((ENTRIES + 1))
wait_for "undid restrict on “Automated Red Teaming" 20
snap alice-undo
keys U
ENTRIES=$((ENTRIES + 1))
wait_for "redid restrict on “Automated Red Teaming" 20
snap alice-redo
quit_app

# --- the export, checked ------------------------------------------------------------------------------------------
(cd "$WALK_DIR" && "$PY" -m triage review export --session walk --out export.csv)
"$PY" - "$WALK_DIR/export.csv" <<'PY'
import csv
import sys

rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
short = {"FlashMix": "FlashMix", "Automated Red Teaming": "Red Teaming", "Dictionary": "Dictionary"}


def name(title):
    return next(v for k, v in short.items() if title.startswith(k))


seen = [(r["reviewer"], name(r["title"]), r["version"], r["state"], r["blind"], r["in_force"], r["rationale"]) for r in rows]
print(f"{'reviewer':<8} {'draft':<12} {'v':<2} {'state':<10} {'blind':<5} {'in_force':<8} {'reverses':<8} {'redoes':<6} rationale")
for r, s in zip(rows, seen):
    print(f"{s[0]:<8} {s[1]:<12} {s[2]:<2} {s[3]:<10} {s[4]:<5} {s[5]:<8} {r['reverses']:<8} {r['redoes']:<6} {s[6]}")

expected = [
    ("alice", "FlashMix", "1", "restrict", "1", "1", "fused kernels give a 3x training speedup"),
    ("alice", "Red Teaming", "1", "hold", "1", "1", "needs legal review of the attack prompts"),
    ("alice", "Dictionary", "1", "approve", "1", "1", ""),
    ("bob", "FlashMix", "1", "restrict", "1", "1", "speedup recipe is directly reusable"),
    ("bob", "Dictionary", "1", "approve", "1", "1", ""),
    ("bob", "Red Teaming", "1", "escalate", "1", "1", "agent jailbreak transfer, escalate"),
    ("alice", "Red Teaming", "2", "restrict", "1", "0", "v2 still shows the transfer attack"),
    ("alice", "Red Teaming", "2", "undo", "", "0", "undo"),  # docs/REVIEW.md: an undo is written as state and rationale `undo`
    ("alice", "Red Teaming", "2", "restrict", "1", "1", "v2 still shows the transfer attack"),
]
problems = [f"row {i + 1}: expected {e}, got {s}" for i, (e, s) in enumerate(zip(expected, seen)) if e != s]
if len(seen) != len(expected):
    problems.append(f"expected {len(expected)} rows, got {len(seen)}")
ids = [r["decision_id"] for r in rows]
if len(rows) == 9:
    if rows[7]["reverses"] != ids[6]:
        problems.append(f"the undo reverses {rows[7]['reverses']!r}, not the v2 decision {ids[6]}")
    if rows[8]["redoes"] != ids[6]:
        problems.append(f"the redo re-instates {rows[8]['redoes']!r}, not the undone decision {ids[6]}")
    if len({r["path"] for r in rows if "Red" in r["title"]}) != 1:
        problems.append("the red-team draft's versions name different paths")
    if any(r["scores_shown"] != "1" or not r["probe_version"] for r in rows if r["state"] != "undo"):
        problems.append("a decision was recorded without the scores shown")
print("\n".join(problems) if problems else f"export: all {len(rows)} rows as expected")
sys.exit(1 if problems else 0)
PY
