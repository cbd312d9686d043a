"""The few pages the gateway itself shows during single sign-on: errors, and the CLI's device confirmation.

Plain HTML with every value escaped, no script: they work from `gateway serve` alone, without the UI.
"""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

LOGIN_PATH = "/login"
DEVICE_PATH = "/api/auth/device"

_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f6f7f9;margin:0;display:flex;min-height:100vh;"
    "align-items:center;justify-content:center}main{background:#fff;border:1px solid #dde;border-radius:10px;"
    "padding:2rem;max-width:28rem;width:100%}h1{font-size:1.3rem}code{font-size:1.2rem;letter-spacing:.1em}"
    "input{font-size:1.1rem;padding:.4rem;width:100%;box-sizing:border-box;text-transform:uppercase}"
    "button{font-size:1rem;padding:.5rem 1rem;margin:.8rem .5rem 0 0}.error{color:#b00020}"
)


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - LLM Gateway</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style></head>'
        f"<body><main>{body}</main></body></html>"
    )
    # Never cached: these pages carry one-time codes and say what happened to one sign-in.
    return HTMLResponse(html, status_code=status_code, headers={"cache-control": "no-store"})


def error_page(message: str, status_code: int, *, again_href: str = LOGIN_PATH) -> HTMLResponse:
    body = f'<h1>Sign-in failed</h1><p class="error" data-testid="sso-error">{escape(message)}</p>' + (
        f'<p><a href="{escape(again_href)}">Start again</a></p>' if again_href else "<p>Run gateway login again.</p>"
    )
    return _page("Sign-in failed", body, status_code)


def device_entry_page(user_code: str = "", error: str = "", status_code: int = 200) -> HTMLResponse:
    message = f'<p class="error" data-testid="sso-error">{escape(error)}</p>' if error else ""
    body = (
        "<h1>Sign in the gateway CLI</h1>"
        "<p>Enter the code that <code>gateway login</code> shows in your terminal.</p>"
        f"{message}"
        f'<form method="post" action="{DEVICE_PATH}"><label for="user_code">Code</label>'
        f'<input id="user_code" name="user_code" value="{escape(user_code)}" autocomplete="off" maxlength="16" '
        'required autofocus><button type="submit">Continue with single sign-on</button></form>'
    )
    return _page("Sign in the gateway CLI", body, status_code)


def device_confirm_page(email: str, user_code: str, confirmation: str) -> HTMLResponse:
    body = (
        "<h1>Sign in the gateway CLI?</h1>"
        f"<p>A <code>gateway login</code> waiting for code <code data-testid='user-code'>{escape(user_code)}</code> "
        f"will get a key as <strong>{escape(email)}</strong>. Approve only if you started it yourself.</p>"
        f'<form method="post" action="{DEVICE_PATH}/confirm">'
        f'<input type="hidden" name="confirmation" value="{escape(confirmation)}">'
        '<button type="submit" name="decision" value="approve">Approve</button>'
        '<button type="submit" name="decision" value="deny">Deny</button></form>'
    )
    return _page("Sign in the gateway CLI", body)


def device_done_page(approved: bool) -> HTMLResponse:
    if approved:
        body = "<h1>Done</h1><p data-testid='device-result'>The CLI is signed in. Go back to your terminal.</p>"
    else:
        body = "<h1>Denied</h1><p data-testid='device-result'>The CLI was not signed in.</p>"
    return _page("Sign in the gateway CLI", body)
