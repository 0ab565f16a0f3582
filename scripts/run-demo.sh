#!/usr/bin/env bash
# `make run`: the backend on the embedded SQLite database (in the background) with a year of
# demo history, a demo stream of inbound contacts (`ekc-admin simulate contacts`), a small
# simulated crew of operators who take, talk and wrap up contacts over the API (so the
# wallboard shows life; EKC_DEMO_CREW="" for none), and the operator console in the
# foreground, signed in as a demo operator. Quitting the console stops the others.
set -euo pipefail

BIN=${BIN:-.venv/bin}
PORT=${EKC_PORT:-8122}
URL="http://127.0.0.1:${PORT}"
RATE=${EKC_DEMO_RATE:-3/min}
OPERATOR=${EKC_DEMO_OPERATOR:-operator1}
CREW=${EKC_DEMO_CREW-operator2 operator3 operator4 operator5}
DATA_DIR=${EKC_DATA_DIR:-$("$BIN/python" -c 'from ekc_core.settings import default_data_dir; print(default_data_dir())')}
DEMO_DIR="$DATA_DIR/demo-run"
mkdir -p "$DEMO_DIR"
export EKC_DATA_DIR="$DATA_DIR"

if "$BIN/python" -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $PORT)) != 0)"; then
    echo "Порт $PORT уже занят (другой сервер ЕКЦ?). Остановите его или задайте EKC_PORT=8123 make run" >&2
    exit 1
fi

"$BIN/ekc-server" db seed --demo --if-empty

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo "Сервер и поток демо-контактов остановлены. Журналы: $DEMO_DIR"
}
trap cleanup EXIT INT TERM

"$BIN/ekc-server" run --port "$PORT" >"$DEMO_DIR/server.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
    if "$BIN/python" -c "import httpx,sys; sys.exit(httpx.get('$URL/health', timeout=1).status_code != 200)" 2>/dev/null; then
        break
    fi
    sleep 0.2
done

# the simulator signs in as the demo admin with its own config folder (the user's login stays)
export_sim=(env EKC_CONFIG_DIR="$DEMO_DIR/simulator" EKC_SERVER_URL="$URL")
"${export_sim[@]}" "$BIN/ekc-admin" login --server "$URL" --username admin --password admin122 >/dev/null
"${export_sim[@]}" "$BIN/ekc-admin" simulate contacts --rate "$RATE" --abandon-after 180 \
    >"$DEMO_DIR/simulator.log" 2>&1 &
pids+=($!)

if [ -n "$CREW" ]; then
    # shellcheck disable=SC2086  # one argument per login
    "$BIN/python" -m ekc_admin.simulate_crew --server "$URL" $CREW >"$DEMO_DIR/crew.log" 2>&1 &
    pids+=($!)
fi

echo "Сервер: $URL (журнал $DEMO_DIR/server.log); демо-контакты: $RATE; операторы-имитаторы: ${CREW:-нет}"
EKC_CONFIG_DIR="$DEMO_DIR/console" EKC_CONSOLE_DIR="$DEMO_DIR/console" EKC_PASSWORD=oper122 \
    "$BIN/ekc" --server "$URL" --user "$OPERATOR"
