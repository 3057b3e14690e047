"""The Logs API form of notebook 01: :class:`FetchForm` and its token field :class:`TokenField`.

The token is never widget state: :class:`TokenField` keeps the typed text in the browser and
sends it to the kernel in one custom message when *Fetch* is pressed; :class:`FetchForm` uses it
for that fetch only (:func:`postback_kit.api.fetch_and_load`) and empties the field afterwards,
whatever happens. So saving the notebook (or its widget state) cannot save the token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

from .common import _WIDE, _error_html, _project_root, _status_html

_TOKEN_FIELD_ESM = """
export default {
  render({ model, el }) {
    const id = "pbk-token-" + Math.random().toString(36).slice(2);
    const row = document.createElement("div");
    row.className = "pbk-token";
    row.style.cssText =
      "display:flex;align-items:center;flex-wrap:wrap;gap:4px 8px;" +
      "margin:var(--jp-widgets-margin, 2px)";
    const label = document.createElement("label");
    label.htmlFor = id;
    label.style.cssText = "font-size:var(--jp-widgets-font-size, 13px);white-space:nowrap";
    // The token's text lives in this element only: never in the model, never in the page's
    // HTML (a property, not an attribute), sent to the kernel by message when asked for.
    const input = document.createElement("input");
    input.type = "password";
    input.id = id;
    input.name = id;
    input.setAttribute("autocomplete", "off");
    input.spellcheck = false;
    input.className = "pbk-token-input";
    input.style.cssText =
      "flex:1 1 16em;min-width:12em;max-width:40em;box-sizing:border-box;" +
      "height:var(--jp-widgets-inline-height, 28px);padding:0 8px;" +
      "font-size:var(--jp-widgets-font-size, 13px);" +
      "color:var(--jp-widgets-input-color, inherit);" +
      "background:var(--jp-widgets-input-background-color, transparent);" +
      "border:var(--jp-widgets-input-border-width, 1px) solid " +
      "var(--jp-widgets-input-border-color, #9e9e9e)";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "jupyter-widgets jupyter-button widget-button mod-primary";
    const icon = document.createElement("i");
    icon.className = "fa fa-download";
    const text = document.createElement("span");
    button.append(icon, text);
    row.append(label, input, button);
    const sync = () => {
      label.textContent = model.get("description");
      input.placeholder = model.get("placeholder");
      text.textContent = " " + model.get("button_description");
      button.disabled = input.disabled = model.get("disabled");
    };
    const submit = () => {
      if (button.disabled) return;
      const token = input.value;
      input.value = "";
      model.send({ type: "pbk-submit", token: token });
    };
    // Keys typed into the field are the field's, not JupyterLab's shortcuts (as ipywidgets'
    // own text fields do); Enter presses the button.
    const onKey = (event) => {
      event.stopPropagation();
      if (event.type === "keydown" && event.key === "Enter") {
        event.preventDefault();
        submit();
      }
    };
    const onCustom = (msg) => {
      if (msg && msg.type === "pbk-clear") input.value = "";
    };
    for (const type of ["keydown", "keypress", "keyup"]) input.addEventListener(type, onKey);
    button.addEventListener("click", submit);
    const names = ["description", "placeholder", "button_description", "disabled"];
    for (const name of names) model.on("change:" + name, sync);
    model.on("msg:custom", onCustom);
    sync();
    el.appendChild(row);
    return () => {
      input.value = "";
      for (const name of names) model.off("change:" + name, sync);
      model.off("msg:custom", onCustom);
    };
  },
};
"""


class TokenField(anywidget.AnyWidget):
    """A password field and its button; the text typed is never widget state.

    The field's text stays in the browser until the button (or Enter) is pressed; then it is
    sent to the kernel in one message, not as a synced value, and the field is emptied.
    ``on_submit(token)`` gets it (``""`` for an empty field). Nothing of the token is ever in
    the widget's state, so saving the widget state (JupyterLab's "Save Widget State
    Automatically") cannot put it into the notebook. :meth:`clear` empties the field in every
    view of it.

    >>> field = TokenField(on_submit=lambda token: fetch(token=token))  # doctest: +SKIP
    """

    _esm = traitlets.Unicode(_TOKEN_FIELD_ESM).tag(sync=True)
    description = traitlets.Unicode("Token").tag(sync=True)
    placeholder = traitlets.Unicode("").tag(sync=True)
    button_description = traitlets.Unicode("Submit").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)

    def __init__(self, on_submit: Callable[[str], object] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_submit = on_submit
        self.on_msg(self._on_frontend_msg)

    def clear(self) -> None:
        """Empty the field in the browser (whatever was typed there is dropped unsent)."""
        self.send({"type": "pbk-clear"})

    def _on_frontend_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "pbk-submit":
            return
        # popped: the kernel keeps the message it handles last, this one keeps no token
        token = content.pop("token", "")
        if not isinstance(token, str):
            token = ""
        try:
            if self.on_submit is not None:
                self.on_submit(token.strip())
        finally:
            del token


class FetchForm:
    """Fetch an export from the Logs API (:func:`postback_kit.api.fetch_and_load`) and load it.

    Fields: application ID, first and last day, the folder to save to, equality filters (one
    ``field=value`` per line) and the token, a :class:`TokenField` with the *Fetch* button: its
    text is never widget state (so never saved in the notebook), reaches the kernel only when
    *Fetch* is pressed, is used for that fetch only and the field is emptied after every
    attempt, whatever happens. Left empty, the token comes from ``token_file`` or
    ``$APPMETRICA_TOKEN`` (what a headless run uses: the token is never a parameter). Other
    keyword arguments (``base_url``, ``poll_interval``…) go to :func:`postback_kit.fetch`.
    :meth:`submit` (also the *Fetch* button) calls ``on_load(frame, source)``.
    """

    def __init__(
        self,
        *,
        application_id: Any = None,
        since: Any = None,
        until: Any = None,
        dest: Any = None,
        filters: str = "",
        token_file: Any = None,
        on_load: Callable[..., object] | None = None,
        **options: Any,
    ) -> None:
        self.on_load = on_load
        self.token_file = token_file or None
        self.options = {k: v for k, v in options.items() if v is not None}
        self.fetched: Any = None
        self.result: Any = None
        style = {"description_width": "initial"}
        self.application_id = widgets.Text(
            value="" if application_id is None else str(application_id),
            description="Application ID",
            placeholder="the number in the AppMetrica address bar",
            style=style,
        )
        self.since = widgets.DatePicker(value=self._day(since), description="From", style=style)
        self.until = widgets.DatePicker(
            value=self._day(until), description="To (included)", style=style
        )
        self.dest = widgets.Text(
            value="" if dest is None else str(dest),
            description="Save to",
            placeholder="folder; empty: exports/<application ID> in the project",
            style=style,
            layout=_WIDE,
        )
        self.filters = widgets.Textarea(
            value=filters,
            description="Filters",
            placeholder="field=value, one a line (e.g. tracking_id=123)",
            rows=2,
            style=style,
            layout=_WIDE,
        )
        self.token = TokenField(
            description="Token",
            placeholder="empty: the token file or $APPMETRICA_TOKEN",
            button_description="Fetch",
            on_submit=self._clicked,
            layout=_WIDE,
        )
        self.status = widgets.HTML()
        self.log = widgets.Output()
        self.widget = widgets.VBox(
            [
                self.application_id,
                widgets.HBox([self.since, self.until]),
                self.dest,
                self.filters,
                self.token,
                self.status,
                self.log,
            ]
        )

    @staticmethod
    def _day(value: Any) -> Any:
        from datetime import date, datetime

        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        return date.fromisoformat(str(value).strip()[:10])

    def destination(self) -> Any:
        """The folder to save to: the field's, else ``exports/<application ID>`` of the project."""
        from pathlib import Path

        text = self.dest.value.strip()
        return Path(text) if text else _project_root() / "exports" / self.application_id.value

    def submit(self, token: str | None = None) -> Any:
        """Fetch, load and call ``on_load``; return ``(frame, report)``.

        ``token`` is used for this fetch only (the *Fetch* button passes what was typed); empty
        or ``None``: ``token_file``, else ``$APPMETRICA_TOKEN``. The token field is empty
        afterwards, also when the fetch fails (the error says nothing of the token)."""
        from ..api import fetch_and_load

        try:
            fetched, result = fetch_and_load(
                self.application_id.value.strip(),
                self.since.value,
                self.until.value,
                dest=self.destination(),
                token=token or None,
                token_file=self.token_file,
                filters=self.filters.value,
                progress=True,
                **self.options,
            )
        finally:
            del token
            self.token.clear()
        self.fetched, self.result = fetched, result
        self.status.value = _status_html(f"{fetched.summary()}\n{result.report.summary()}")
        if self.on_load is not None:
            self.on_load(result.frame, source=fetched.dest)
        return result

    def _clicked(self, token: str) -> None:
        """The *Fetch* button: ``token`` is what the field held (sent by message, not state)."""
        self.log.clear_output()
        with self.log:
            try:
                self.token.disabled = True
                self.submit(token)
            except Exception as exc:
                self.status.value = _error_html(exc, token)
            finally:
                del token
                self.token.disabled = False

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
