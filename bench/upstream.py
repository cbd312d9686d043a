"""The fake provider: nginx (+ njs) answering canned replies on one loopback port, and the nginx proxy hop.

The fake upstream must decide JSON versus SSE from the request body, as a real provider does, because the
peers rewrite requests and do not carry our headers. njs reads the in-memory body once, finds `"stream"` with a
native byte search and returns the canned reply from memory. Bodies that ask for a stream and carry
SLOW_STREAM_MARKER are handed (same body) to the slow stream server, which holds each stream ~2 s.
"""

import json
import shutil
import subprocess
from pathlib import Path

from bench import canned
from bench.procs import Managed, start_pinned, wait_for_port

REPO_ROOT = Path(__file__).resolve().parent.parent
NJS_MODULE = Path("/usr/lib/nginx/modules/ngx_http_js_module.so")

_NJS_TEMPLATE = """
const REPLIES = __REPLIES__;
const SLOW_MARKER = __SLOW_MARKER__;

function wantsStream(body) {
    const at = body.indexOf('"stream"');
    if (at < 0) {
        return false;
    }
    const rest = body.slice(at + 8, at + 24).toString().replace(/[\\s:]/g, '');
    return rest.startsWith('true');
}

function route(r) {
    const body = r.requestBuffer;
    const streaming = body !== undefined && body !== null && wantsStream(body);
    if (streaming && body.indexOf(SLOW_MARKER) >= 0) {
        r.internalRedirect('@slow');
        return;
    }
    const provider = r.uri.endsWith('/responses') ? 'openai' : 'anthropic';
    r.headersOut['Content-Type'] = streaming ? 'text/event-stream' : 'application/json';
    r.headersOut['request-id'] = 'req_bench0001';
    r.return(200, REPLIES[provider + (streaming ? '_sse' : '_json')]);
}

export default {route};
"""

_COMMON_MAIN = """
worker_processes 1;
worker_rlimit_nofile 20000;
pid {prefix}/nginx.pid;
{load_modules}
events {{ worker_connections 16384; multi_accept on; }}
http {{
    access_log off;
    default_type application/octet-stream;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    client_max_body_size 16m;
    # Bodies stay in one memory buffer so njs can read them; nothing touches the disk.
    client_body_buffer_size 1m;
    client_body_in_single_buffer on;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{http_body}
}}
"""

_UPSTREAM_HTTP = """
    js_import bench from {prefix}/bench.js;
    upstream slow_streams {{ server 127.0.0.1:{slow_port}; keepalive 512; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ js_content bench.route; }}
        location @slow {{
            proxy_pass http://slow_streams;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 120s;
        }}
    }}
"""

_HOP_HTTP = """
    upstream fake_provider {{ server 127.0.0.1:{upstream_port}; keepalive 512; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://fake_provider;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # Relay SSE as it arrives, like the gateway must.
            proxy_buffering off;
            proxy_read_timeout 120s;
        }}
    }}
"""


def _write_prefix(prefix: Path, http_body: str, load_js: bool) -> Path:
    prefix.mkdir(parents=True, exist_ok=True)
    prefix.chmod(0o755)  # nginx workers run unprivileged and must traverse the prefix
    load_modules = f"load_module {NJS_MODULE};" if load_js else ""
    conf = _COMMON_MAIN.format(prefix=prefix, load_modules=load_modules, http_body=http_body)
    conf_path = prefix / "nginx.conf"
    conf_path.write_text(conf)
    return conf_path


def _start_nginx(name: str, core: str, prefix: Path, conf_path: Path, port: int, log_dir: Path) -> Managed:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    check = subprocess.run(
        [nginx, "-t", "-q", "-p", str(prefix), "-c", str(conf_path), "-e", str(prefix / "error.log")],
        check=False,
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        raise RuntimeError(f"{name}: nginx config rejected: {check.stderr.strip()}")
    process = start_pinned(
        name,
        core,
        [nginx, "-g", "daemon off;", "-p", str(prefix), "-c", str(conf_path), "-e", str(prefix / "error.log")],
        log_dir,
    )
    if not wait_for_port(port, 15, process):
        raise RuntimeError(f"{name}: nginx did not listen on {port}: {process.log_tail()}")
    return process


def start_fake_upstream(core: str, port: int, slow_port: int, work_dir: Path, log_dir: Path) -> Managed:
    prefix = work_dir / "nginx-upstream"
    replies = {
        "anthropic_json": canned.json_reply("anthropic"),
        "anthropic_sse": canned.sse_text("anthropic"),
        "openai_json": canned.json_reply("openai"),
        "openai_sse": canned.sse_text("openai"),
    }
    prefix.mkdir(parents=True, exist_ok=True)
    script = _NJS_TEMPLATE.replace("__REPLIES__", json.dumps(replies)).replace(
        "__SLOW_MARKER__", json.dumps(canned.SLOW_STREAM_MARKER)
    )
    (prefix / "bench.js").write_text(script)
    http_body = _UPSTREAM_HTTP.format(prefix=prefix, port=port, slow_port=slow_port)
    conf_path = _write_prefix(prefix, http_body, load_js=True)
    return _start_nginx("upstream-nginx", core, prefix, conf_path, port, log_dir)


def start_nginx_hop(core: str, port: int, upstream_port: int, work_dir: Path, log_dir: Path) -> Managed:
    prefix = work_dir / "nginx-hop"
    http_body = _HOP_HTTP.format(port=port, upstream_port=upstream_port)
    conf_path = _write_prefix(prefix, http_body, load_js=False)
    return _start_nginx("nginx-hop", core, prefix, conf_path, port, log_dir)


def start_slow_upstream(core: str, port: int, python: str, log_dir: Path, hold_seconds: float) -> Managed:
    process = start_pinned(
        "slow-upstream",
        core,
        [python, "-m", "bench.slow_upstream", "--port", str(port), "--hold-seconds", str(hold_seconds)],
        log_dir,
        cwd=REPO_ROOT,
    )
    if not wait_for_port(port, 15, process):
        raise RuntimeError(f"slow upstream did not start: {process.log_tail()}")
    return process
