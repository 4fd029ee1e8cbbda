#!/usr/bin/env bash
# Regenerates README's screenshots from a real session: two real duplex
# processes (alice hosts, bob joins) run in a private tmux server, type a
# short conversation, and their screens are captured with colours and
# rendered to PNG.
#
#   assets/screenshot.sh
#
# Writes assets/duplex-first-screen.{txt,png} (the host waiting for a guest)
# and assets/duplex-session.{txt,png} (the conversation, both sides). The
# .txt files are the captured screens as plain text; they are written even
# where no PNG can be rendered.
#
# Needs tmux and python3. The PNG needs Pillow (installed into a private
# virtual environment under ${TMPDIR:-/tmp} if python3 lacks it) and the
# DejaVu Sans Mono font; CJK and emoji look right with Debian's
# fonts-noto-cjk and fonts-noto-color-emoji (installed here when run as root
# with apt-get).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cols=80
rows=22

command -v tmux >/dev/null || { echo "screenshot.sh: tmux is needed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "screenshot.sh: python3 is needed" >&2; exit 1; }

(cd "$root" && cargo build --quiet --locked)
duplex="$root/target/debug/duplex"

work=$(mktemp -d)
socket="duplex-screenshot-$$"
tmux_() { tmux -L "$socket" -f /dev/null "$@"; }
cleanup() {
    tmux_ kill-server 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Waits until the pane of session $1 contains $2 (a fixed string).
wait_for() {
    for _ in $(seq 1 200); do
        if tmux_ capture-pane -p -t "$1" | grep -qF -- "$2"; then
            return 0
        fi
        sleep 0.05
    done
    echo "screenshot.sh: $1 never showed: $2" >&2
    tmux_ capture-pane -p -t "$1" >&2
    exit 1
}

# Types a line in session $1, and waits until both sides show it.
say() {
    local who=$1 text=$2
    tmux_ send-keys -t "$who" -l -- "$text"
    tmux_ send-keys -t "$who" Enter
    wait_for alice "$who: ${text:0:30}"
    wait_for bob "$who: ${text:0:30}"
}

capture() {
    tmux_ capture-pane -e -p -t "$1" >"$work/$1.ansi"
}

# Starts duplex as $1 in a session of that name, with the environment
# variables in $2 (may be empty) and the arguments after.
start() {
    local name=$1 extra=$2
    shift 2
    tmux_ new-session -d -s "$name" -x "$cols" -y "$rows" \
        env -i HOME="$work/home-$name" PATH="$PATH" TERM=tmux-256color LANG=C.UTF-8 $extra \
        "$duplex" "$@" --name "$name" --ephemeral
}

tmux_ start-server
tmux_ set -g default-terminal tmux-256color 2>/dev/null || true
mkdir -p "$work/home-alice" "$work/home-bob"

# A host with a secret code duplex makes up, on loopback only (so the
# screen names no address of this machine).
start alice "" host --bind 127.0.0.1 --port 0 --secret
wait_for alice "duplex join 127.0.0.1:"
first=$(tmux_ capture-pane -p -t alice)
port=$(grep -o 'duplex join 127.0.0.1:[0-9]*' <<<"$first" | head -1 | cut -d: -f2)
code=$(grep -o 'DUPLEX_SECRET=[a-z-]*' <<<"$first" | head -1 | cut -d= -f2)
capture alice
cp "$work/alice.ansi" "$work/first.ansi"

start bob "DUPLEX_SECRET=$code" join "127.0.0.1:$port"
wait_for alice "· connected"
wait_for bob "· connected"
words=$(tmux_ capture-pane -p -t bob | grep -o '🔒 [a-z]*-[a-z]*-[a-z]*-[a-z]*' | cut -d' ' -f2)

say alice "hey bob, you there?"
say bob "yep! just got in. nice, no server needed?"
say alice "nope, straight TCP between our two terminals, encrypted end to end"
say bob "你好！こんにちは 👋"
say alice "do the four words in your status bar match mine?"
say bob "they do: $words"
for who in alice bob; do
    tmux_ send-keys -t "$who" -l -- "/verify ok"
    tmux_ send-keys -t "$who" Enter
    wait_for "$who" "🔒✓"
done
say alice "I pushed the fix for the scrollback bug this morning — can you pull it, run the tests on your machine and tell me if anything still looks off with long lines?"
say bob "on it 🙌"
tmux_ send-keys -t bob -l -- "tests pass, want me to tag the rel"
sleep 0.3
capture alice
capture bob

plain() { sed -e 's/\x1b\[[0-9;:]*m//g' "$1"; }
{
    echo "alice — duplex host --bind 127.0.0.1 --port 0 --secret (waiting for a guest)"
    plain "$work/first.ansi"
} >"$here/duplex-first-screen.txt"
{
    echo "alice — duplex host"
    plain "$work/alice.ansi"
    echo
    echo "bob — duplex join 127.0.0.1:$port"
    plain "$work/bob.ansi"
} >"$here/duplex-session.txt"

# The renderer: Pillow, from a private virtual environment if need be.
python=python3
if ! python3 -c 'import PIL' 2>/dev/null; then
    venv="${TMPDIR:-/tmp}/duplex-screenshot-venv"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import PIL' 2>/dev/null; then
        python3 -m venv "$venv" && "$venv/bin/pip" install --quiet pillow ||
            { echo "screenshot.sh: no Pillow: wrote the .txt screens only" >&2; exit 0; }
    fi
    python="$venv/bin/python"
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null &&
    ! [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then
    apt-get install -y -q fonts-noto-cjk fonts-noto-color-emoji >/dev/null 2>&1 || true
fi
"$python" "$here/render.py" "$here/duplex-first-screen.png" \
    "alice — duplex host" "$work/first.ansi"
"$python" "$here/render.py" "$here/duplex-session.png" \
    "alice — duplex host" "$work/alice.ansi" \
    "bob — duplex join" "$work/bob.ansi"
echo "wrote assets/duplex-session.png and assets/duplex-first-screen.png (and their .txt)"
