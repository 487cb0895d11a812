// The sandbox page's script: keeps the live part fresh and turns clicks into actions.
// No build step, no libraries: the server renders the HTML (sheetledger/sandbox/web/).
"use strict";

(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get("token") || "";
  const live = document.getElementById("live");
  const status = document.getElementById("status");
  const flash = document.getElementById("flash");
  let fingerprint = document.body.dataset.fingerprint || "";
  let selected = null; // the A1 address of the selected cell
  let busy = false;
  const dirty = new Set(); // inputs a person is typing in: kept across refreshes

  function withToken(href) {
    const url = new URL(href, location.href);
    url.searchParams.set("token", token);
    return url.pathname + url.search;
  }

  function viewQuery() {
    const query = new URLSearchParams(location.search);
    query.delete("token");
    return query.toString();
  }

  function decorate(root) {
    root.querySelectorAll("a[data-nav], a[data-file]").forEach((a) => {
      a.href = withToken(a.getAttribute("href"));
    });
    root.querySelectorAll("img[data-src]").forEach((img) => {
      img.src = withToken(img.dataset.src);
    });
    if (selected) {
      const cell = root.querySelector(`td[data-a1="${CSS.escape(selected)}"]`);
      if (cell) cell.classList.add("selected");
    }
    const messages = root.querySelector("#messages");
    if (messages) messages.scrollTop = messages.scrollHeight;
  }

  function keyOf(input) {
    const form = input.closest("form");
    const scope = form ? [form.id, form.dataset.action, form.dataset.lead, form.dataset.slot,
      form.dataset.user].join("/") : "";
    return scope + "#" + (input.id || input.name);
  }

  function rememberInputs() {
    const kept = new Map();
    live.querySelectorAll("input:not([type=file]):not([type=checkbox]), select, textarea")
      .forEach((input) => {
        const key = keyOf(input);
        if (dirty.has(key)) kept.set(key, input.value);
      });
    const active = document.activeElement;
    return { kept, focus: active && live.contains(active) ? keyOf(active) : null };
  }

  function restoreInputs(saved) {
    live.querySelectorAll("input:not([type=file]):not([type=checkbox]), select, textarea")
      .forEach((input) => {
        const key = keyOf(input);
        if (saved.kept.has(key)) input.value = saved.kept.get(key);
        if (saved.focus === key) input.focus();
      });
  }

  function scrolls() {
    return Array.from(live.querySelectorAll(".grid-wrap, .board, .timeline"))
      .map((el) => [el.className, el.scrollTop, el.scrollLeft]);
  }

  function restoreScrolls(saved) {
    saved.forEach(([name, top, left]) => {
      const el = live.getElementsByClassName(name.split(" ")[0])[0];
      if (el) { el.scrollTop = top; el.scrollLeft = left; }
    });
  }

  function stamp(text, ok) {
    status.textContent = text;
    status.classList.toggle("offline", !ok);
  }

  async function refresh() {
    const answer = await fetch("/view?" + viewQuery(), { headers: { "X-Sandbox-Token": token } });
    if (!answer.ok) throw new Error(await answer.text());
    const html = await answer.text();
    const inputs = rememberInputs();
    const positions = scrolls();
    const chat = live.querySelector("#messages");
    const atBottom = !chat || chat.scrollTop + chat.clientHeight >= chat.scrollHeight - 30;
    live.innerHTML = html;
    decorate(live);
    restoreScrolls(positions.filter(([name]) => atBottom || !name.startsWith("messages")));
    restoreInputs(inputs);
    if (selected) showCell(live.querySelector(`td[data-a1="${CSS.escape(selected)}"]`), false);
  }

  async function poll() {
    if (!busy) {
      busy = true;
      try {
        const answer = await fetch("/changes?" + viewQuery(), {
          headers: { "X-Sandbox-Token": token },
        });
        const body = await answer.json();
        if (body.fingerprint !== fingerprint) {
          fingerprint = body.fingerprint;
          await refresh();
        }
        stamp("● вживую · " + new Date().toLocaleTimeString("ru-RU"), true);
        document.body.dataset.fingerprint = fingerprint;
      } catch (error) {
        stamp("○ нет связи с песочницей", false);
      } finally {
        busy = false;
      }
    }
    setTimeout(poll, 500);
  }

  function say(text, ok) {
    flash.textContent = text;
    flash.className = ok ? "ok" : "error";
    clearTimeout(say.timer);
    say.timer = setTimeout(() => { flash.textContent = ""; flash.className = ""; }, 6000);
  }

  async function act(body) {
    try {
      const answer = await fetch("/act", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Sandbox-Token": token },
        body: JSON.stringify(body),
      });
      const reply = await answer.json();
      say(reply.message, reply.ok);
      if (reply.ok) {
        dirty.clear();
        fingerprint = "";
      }
      return reply.ok;
    } catch (error) {
      say("Песочница не ответила: " + error, false);
      return false;
    }
  }

  // -- the spreadsheets ---------------------------------------------------------------

  function showCell(cell, focus) {
    live.querySelectorAll("td.selected").forEach((td) => td.classList.remove("selected"));
    const address = document.getElementById("edit-address");
    const value = document.getElementById("edit-value");
    const warning = document.getElementById("edit-warning");
    if (!cell || !address) return;
    cell.classList.add("selected");
    selected = cell.dataset.a1;
    address.textContent = selected;
    if (!dirty.has(keyOf(value))) value.value = cell.dataset.raw || "";
    warning.textContent = cell.classList.contains("protected")
      ? "⚠ Защищено: этот столбец пишет демон; правка будет перезаписана или отклонена."
      : "";
    if (focus) value.focus();
  }

  document.addEventListener("click", (event) => {
    const sort = event.target.closest("button.sort");
    if (sort) {
      const table = live.querySelector("table.grid");
      act({ action: "sheet_sort", book: table.dataset.book, tab: table.dataset.tab,
        column: sort.dataset.col, ascending: sort.dataset.asc === "1" });
      return;
    }
    const press = event.target.closest("button.act-button");
    if (press) {
      act({ action: press.dataset.action, user: press.dataset.user,
        message: press.dataset.message, callback: press.dataset.callback });
      return;
    }
    const cell = event.target.closest("table.grid td");
    if (cell && !event.target.matches("input.tick")) {
      const editor = document.getElementById("edit-value");
      if (editor) dirty.delete(keyOf(editor));
      showCell(cell, false);
    }
  });

  document.addEventListener("dblclick", (event) => {
    const cell = event.target.closest("table.grid td");
    if (cell) showCell(cell, true);
  });

  document.addEventListener("change", (event) => {
    const tick = event.target.closest("input.tick");
    if (tick) {
      const table = live.querySelector("table.grid");
      act({ action: "sheet_tick", book: table.dataset.book, a1: tick.dataset.a1,
        checked: tick.checked });
    }
  });

  document.addEventListener("input", (event) => {
    if (event.target.matches("input, select, textarea")) dirty.add(keyOf(event.target));
  });

  function fields(form) {
    const out = {};
    new FormData(form).forEach((value, key) => {
      if (typeof value === "string") out[key] = value;
    });
    return out;
  }

  function readFile(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",")[1] || "");
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    event.preventDefault();
    if (form.id === "edit-bar") {
      if (!selected) { say("Сначала выберите ячейку", false); return; }
      const value = document.getElementById("edit-value").value;
      await act({ action: "sheet_type", book: form.dataset.book, a1: selected, value });
      return;
    }
    if (form.id === "deal-search") {
      const query = new URLSearchParams({ view: "amocrm", q: form.q.value, token });
      location.search = query.toString();
      return;
    }
    if (!form.classList.contains("act")) return;
    const body = Object.assign(fields(form), { action: form.dataset.action });
    if (form.dataset.user) body.user = form.dataset.user;
    if (form.dataset.firstName) body.first_name = form.dataset.firstName;
    if (form.dataset.lead) body.lead = form.dataset.lead;
    if (form.dataset.slot) body.slot = form.dataset.slot;
    if (form.dataset.action === "tg_file") {
      const file = form.file.files[0];
      if (!file) { say("Выберите файл", false); return; }
      body.filename = file.name;
      body.mime_type = file.type;
      body.content_base64 = await readFile(file);
    }
    if (await act(body)) form.reset();
  });

  decorate(document);
  setTimeout(poll, 500);
})();
