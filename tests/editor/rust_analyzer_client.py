#!/usr/bin/env python3
"""A minimal LSP client that starts rust-analyzer on a crate with
`check.overrideCommand` set, saves a file, and prints (as JSON) the diagnostics that
rust-analyzer publishes for it from that command.

usage: rust_analyzer_client.py CRATE_DIR REL_FILE TIMEOUT_SECONDS COMMAND...
"""
import json
import os
import subprocess
import sys
import threading
import time


def main():
    crate, rel, timeout, *command = sys.argv[1:]
    crate = os.path.abspath(crate)
    root_uri = "file://" + crate
    file_path = os.path.join(crate, rel)
    file_uri = "file://" + file_path
    settings = {
        "check": {"overrideCommand": command},
        "checkOnSave": True,
        "cachePriming": {"enable": False},
        "procMacro": {"enable": False},
        "cargo": {"buildScripts": {"enable": False}},
    }
    ra = subprocess.Popen(
        ["rust-analyzer"],
        cwd=crate,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    lock = threading.Lock()

    def send(msg):
        body = json.dumps(msg).encode()
        with lock:
            ra.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            ra.stdin.flush()

    published = []
    done = threading.Event()

    def reader():
        while True:
            headers = {}
            while True:
                line = ra.stdout.readline()
                if not line:
                    done.set()
                    return
                line = line.decode().strip()
                if not line:
                    break
                k, v = line.split(":", 1)
                headers[k.lower()] = v.strip()
            msg = json.loads(ra.stdout.read(int(headers["content-length"])))
            if "method" in msg and "id" in msg:
                # A request from the server: configuration, progress tokens, registrations.
                if msg["method"] == "workspace/configuration":
                    result = [settings for _ in msg["params"]["items"]]
                else:
                    result = None
                send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            elif msg.get("method") == "textDocument/publishDiagnostics":
                p = msg["params"]
                if p["uri"] == file_uri:
                    ours = [d for d in p["diagnostics"] if d.get("source") == "stateless"]
                    if ours:
                        published.append(ours)
                        done.set()

    threading.Thread(target=reader, daemon=True).start()
    send({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "processId": os.getpid(), "rootUri": root_uri,
            "workspaceFolders": [{"uri": root_uri, "name": "crate"}],
            "capabilities": {
                "workspace": {"configuration": True},
                "textDocument": {"publishDiagnostics": {"relatedInformation": True}},
                "window": {"workDoneProgress": True},
            },
            "initializationOptions": settings,
        },
    })
    send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    text = open(file_path).read()
    send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": file_uri, "languageId": "rust", "version": 1, "text": text}}})
    deadline = time.time() + float(timeout)
    # The first save may come before the workspace has loaded; save again until it checks.
    while not done.is_set() and time.time() < deadline:
        send({"jsonrpc": "2.0", "method": "textDocument/didSave",
              "params": {"textDocument": {"uri": file_uri}}})
        done.wait(3)
    # rust-analyzer publishes as messages arrive; let the rest of the run come in.
    time.sleep(2)
    try:
        send({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None})
        send({"jsonrpc": "2.0", "method": "exit", "params": None})
        ra.wait(10)
    except Exception:
        ra.kill()
    print(json.dumps(published[-1] if published else []))


if __name__ == "__main__":
    main()
