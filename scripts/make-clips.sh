#!/usr/bin/env bash
# Regenerates the emulator's speech clips and the bridge's apology clip in assets/audio/.
# A one-off: the clips are committed, and nothing at run time or in tests needs espeak-ng or
# sox. Run it again only to change a clip, then review and commit the new WAVs together with
# assets/audio/clips.json (the transcripts the emulator streams alongside the audio).
#
# Needs: espeak-ng and sox (Debian: apt-get install -y espeak-ng sox).
# The greeting and the long answer were made the same way (espeak-ng, en-us, 165 words a
# minute) as 24 kHz PCM clips; ASSISTANT_CLIPS may point at a directory holding
# assistant_greeting.pcm24k.wav and assistant_long.pcm24k.wav to convert new ones. Without it
# the committed greeting.ulaw8k.wav and long.ulaw8k.wav are kept as they are.
#
# Every clip is stored once, as G.711 mu-law 8 kHz mono WAV: that is what a phone line
# carries, it keeps assets/audio/ small (8 kB per second), and the emulator converts to
# PCM16 24 kHz at load time when a session asks for audio/pcm.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=assets/audio
ASSISTANT_CLIPS=${ASSISTANT_CLIPS:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

to_ulaw8k() { # input.wav output.wav
  sox "$1" -r 8000 -c 1 -e u-law -b 8 "$2"
}

speak() { # name "text"
  # Same voice and rate as the caller clips in test/fixtures/audio (README there).
  espeak-ng -v en-us -s 165 -w "$TMP/$1.wav" "$2"
  to_ulaw8k "$TMP/$1.wav" "$OUT/$1.ulaw8k.wav"
}

if [ -n "$ASSISTANT_CLIPS" ]; then
  to_ulaw8k "$ASSISTANT_CLIPS/assistant_greeting.pcm24k.wav" "$OUT/greeting.ulaw8k.wav"
  to_ulaw8k "$ASSISTANT_CLIPS/assistant_long.pcm24k.wav" "$OUT/long.ulaw8k.wav"
fi

speak reply "I am the local test model, so I cannot answer that. Connect a real model for real answers."
speak done "All right, that's done."
speak apology "I'm sorry, our assistant is not available right now. Please call again later. Goodbye."

ls -l "$OUT"
