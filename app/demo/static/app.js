// The demo page: polls /api/state for what the chosen person sees, sends what they do to
// /api/<action> (the demo server turns it into Slack's signed request to the bot).
"use strict";

const POLL_MS = 700;
const REACTIONS = ["pushpin", "+1", "eyes", "white_check_mark"];
const view = {
  user: localStorage.getItem("demo.user") || "",
  channel: localStorage.getItem("demo.channel") || "",
  state: null,
  drawn: "",          // the JSON last drawn in the message pane
  modalKey: "",       // id + hash of the modal on screen
  modalErrors: {},
  openThreads: new Set(),
  seen: {},           // user -> channel -> message count read
  busy: false,
};

const $ = (id) => document.getElementById(id);

async function api(action, body) {
  const response = await fetch(`/api/${action}`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: view.user, ...body }),
  });
  const answer = await response.json().catch(() => ({ ok: false, error: `HTTP ${response.status}` }));
  if (!answer.ok) toast(answer.error || "Something went wrong");
  else if (answer.note) toast(answer.note);
  setTimeout(poll, 150);
  setTimeout(poll, 600);
  return answer;
}

function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, 6000);
}

function names(state) {
  return { users: state.names, channels: state.channel_names };
}

// --- polling and drawing ------------------------------------------------------------------

async function poll() {
  const query = new URLSearchParams({ user: view.user, channel: view.channel });
  let state;
  try {
    state = await (await fetch(`/api/state?${query}`)).json();
  } catch (error) {
    $("room-topic").textContent = "(the demo server is not answering)";
    return;
  }
  view.state = state;
  view.user = state.me;
  view.channel = state.channel;
  localStorage.setItem("demo.user", view.user);
  localStorage.setItem("demo.channel", view.channel);
  drawPeople(state);
  drawRooms(state);
  drawMessages(state);
  drawModal(state);
}

function drawPeople(state) {
  const select = $("you");
  const wanted = state.people.map((p) => `${p.id}:${p.name}`).join(",");
  if (select.dataset.people !== wanted) {
    select.replaceChildren(...state.people.map((p) =>
      el("option", { value: p.id, text: `${p.name} — ${p.title}` })));
    select.dataset.people = wanted;
  }
  select.value = state.me;
}

function drawRooms(state) {
  const seen = (view.seen[state.me] = view.seen[state.me] || {});
  const current = state.conversations.find((c) => c.id === state.channel);
  if (current) seen[current.id] = current.count;
  const item = (room) => {
    const unread = room.count - (seen[room.id] || 0);
    const sigil = room.kind === "dm" ? "● " : room.kind === "private" ? "🔒 " : "# ";
    return el("li", {
      class: ["room", room.id === state.channel ? "active" : "", unread > 0 ? "unread" : "",
        room.member ? "" : "not-member", room.archived ? "archived" : ""].join(" "),
      "data-room": room.name, "data-id": room.id,
      onclick: () => { view.channel = room.id; view.drawn = ""; poll(); },
    }, el("span", { class: "room-name", title: room.name, text: sigil + room.name }),
    unread > 0 ? el("span", { class: "badge", text: String(unread) }) : null);
  };
  $("channels").replaceChildren(...state.conversations.filter((c) => c.kind !== "dm").map(item));
  $("dms").replaceChildren(...state.conversations.filter((c) => c.kind === "dm").map(item));
  if (current) {
    $("room-name").textContent = current.kind === "dm" ? current.name : `# ${current.name}`;
    $("room-topic").textContent = current.topic || (current.member ? "" : "(you are not a member: posting joins)");
    $("box").placeholder = current.archived ? "This channel has been archived"
      : `Message ${current.kind === "dm" ? current.name : "#" + current.name}, or /incident …`;
  }
  $("pins-button").textContent = `📌 ${state.pins.length}`;
}

function drawMessages(state) {
  const key = JSON.stringify([state.me, state.channel, state.messages, state.pins, [...view.openThreads]]);
  if (key === view.drawn) return;
  view.drawn = key;
  const pane = $("messages");
  const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80;
  const ctxFor = (message) => ({
    names: names(state), people: state.people,
    channels: state.conversations.filter((c) => c.kind !== "dm"), surface: "message",
    act: (block, element, selected) => {
      return api("click", { channel: state.channel, ts: message.ts, action_id: element.action_id,
        block_id: block.block_id, selected });
    },
  });
  pane.replaceChildren(...state.messages.map((m) => drawMessage(state, m, ctxFor(m))));
  if (!state.messages.length) {
    pane.append(el("div", { class: "empty", html: "Nothing here yet. Type <code>/incident declare</code> " +
      "below to declare an incident, then switch <b>You are</b> to the on-call engineer to be paged." }));
  }
  drawPins(state);
  if (atBottom) pane.scrollTop = pane.scrollHeight;
}

function author(state, message) {
  return message.user === state.bot ? "incident-bot" : state.names[message.user] || message.user;
}

function drawMessage(state, message, ctx, reply) {
  const when = new Date(Number(message.ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const body = message.blocks.length ? renderBlocks(message.blocks, ctx)
    : [el("div", { class: "b-text", html: mrkdwn(message.text, ctx.names) })];
  const node = el("div", {
    class: ["message", message.ephemeral ? "ephemeral" : "", message.pinned ? "pinned" : "",
      reply ? "reply" : ""].join(" "),
    "data-ts": message.ts,
  },
  el("div", { class: "avatar", text: message.user === state.bot ? "🤖" : (author(state, message)[0] || "?").toUpperCase() }),
  el("div", { class: "content" },
    el("div", { class: "meta" },
      el("b", { text: author(state, message) }),
      message.user === state.bot ? el("span", { class: "app-tag", text: "APP" }) : null,
      el("span", { class: "time", text: when }),
      message.edited ? el("span", { class: "time", text: "(edited)" }) : null,
      message.pinned ? el("span", { class: "pin-tag", text: "📌 Pinned" }) : null,
      message.ephemeral ? el("span", { class: "eph-tag", text: "Only visible to you" }) : null),
    body,
    (message.attachments || []).map((a) => el("div", { class: "attachment", html: mrkdwn(a.text || a.fallback || "", ctx.names) })),
    message.files.map((f) => el("div", { class: "file" },
      el("a", { href: `/files/${encodeURIComponent(f.id)}`, target: "_blank", text: `📄 ${f.title || f.name}` }))),
    message.ephemeral ? null : reactionsRow(state, message),
    threadRow(state, message, ctx, reply)));
  return node;
}

function reactionsRow(state, message) {
  const row = el("div", { class: "reactions" });
  for (const r of message.reactions) {
    row.append(el("button", { type: "button", class: `reaction${r.mine ? " mine" : ""}`,
      "data-emoji": r.name, title: `:${r.name}:`,
      onclick: () => api("react", { channel: state.channel, ts: message.ts, emoji: r.name }) },
    `${EMOJI[r.name] || ":" + r.name + ":"} ${r.count}`));
  }
  const picker = el("span", { class: "picker" }, REACTIONS.map((name) => el("button", {
    type: "button", class: "add-reaction", "data-emoji": name, title: `React with :${name}:`,
    onclick: () => api("react", { channel: state.channel, ts: message.ts, emoji: name }),
  }, EMOJI[name])));
  row.append(picker);
  return row;
}

function threadRow(state, message, ctx, reply) {
  if (reply) return null;
  const open = view.openThreads.has(message.ts);
  const toggle = () => { open ? view.openThreads.delete(message.ts) : view.openThreads.add(message.ts); view.drawn = ""; poll(); };
  const count = message.replies.length;
  const link = el("button", { type: "button", class: "thread-link", onclick: toggle },
    count ? `${count} ${count === 1 ? "reply" : "replies"}` : open ? "Hide thread" : "Reply in thread");
  if (!open) return el("div", { class: `thread${count ? "" : " quiet"}` }, message.ephemeral ? null : link);
  const form = el("form", { class: "thread-box" },
    el("input", { type: "text", placeholder: "Reply…" }), el("button", { type: "submit", text: "Reply" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = form.querySelector("input");
    if (input.value.trim()) api("message", { channel: state.channel, text: input.value, thread_ts: message.ts });
    input.value = "";
  });
  return el("div", { class: "thread open" }, link,
    message.replies.map((r) => drawMessage(state, r, ctx, true)), form);
}

function drawPins(state) {
  const list = $("pins");
  const pinned = state.messages.filter((m) => m.pinned);
  list.replaceChildren(el("div", { class: "pins-title", text: "Pinned messages" }),
    ...(pinned.length ? pinned.map((m) => el("div", { class: "pin" },
      el("b", { text: author(state, m) }), " ", (m.text || "").slice(0, 140)))
      : [el("div", { class: "hint", text: "Nothing is pinned here." })]));
}

// --- the modal ------------------------------------------------------------------------------

function entered(form) {
  const answers = {};
  for (const node of form.querySelectorAll("[data-block][data-kind]")) {
    const block = node.dataset.block;
    const kind = node.dataset.kind;
    if (kind === "text") answers[block] = node.value === "" ? null : node.value;
    else if (kind === "single") answers[block] = node.value || null;
    else if (kind === "multi") answers[block] = [...node.selectedOptions].map((o) => o.value);
    else if (kind === "radio") answers[block] = (node.querySelector("input:checked") || {}).value || null;
    else if (kind === "checkboxes") answers[block] = [...node.querySelectorAll("input:checked")].map((i) => i.value);
  }
  return answers;
}

function drawModal(state) {
  const modal = state.modal;
  const overlay = $("overlay");
  const form = $("modal");
  if (!modal) {
    overlay.hidden = true;
    view.modalKey = "";
    return;
  }
  const sameView = view.modalKey.startsWith(`${modal.id}:`);
  if (!sameView) view.modalErrors = {};
  const key = `${modal.id}:${modal.hash}:${JSON.stringify(view.modalErrors)}`;
  if (key === view.modalKey) return;
  const keep = sameView ? entered(form) : {};
  view.modalKey = key;
  const ctx = {
    names: names(state), people: state.people, entered: keep, errors: view.modalErrors,
    channels: state.conversations.filter((c) => c.kind !== "dm"), surface: "modal",
    dispatch: (block) => block.type !== "input" || block.dispatch_action,
    act: (block, element) => api("change", { view_id: modal.id, block_id: block.block_id,
      action_id: element.action_id, answers: entered(form) }),
  };
  form.replaceChildren(
    el("div", { class: "modal-title", text: plain(modal.title) }),
    el("div", { class: "modal-body" }, renderBlocks(modal.blocks, ctx)),
    el("div", { class: "modal-buttons" },
      el("button", { type: "button", class: "btn", "data-testid": "modal-close",
        onclick: () => { view.modalErrors = {}; api("dismiss", { view_id: modal.id }); overlay.hidden = true; } },
      plain(modal.close) || "Cancel"),
      modal.submit ? el("button", { type: "submit", class: "btn primary", "data-testid": "modal-submit" }, plain(modal.submit)) : null));
  form.onsubmit = async (event) => {
    event.preventDefault();
    const answer = await api("submit", { view_id: modal.id, answers: entered(form) });
    view.modalErrors = (answer.ok && answer.errors) || {};
    view.modalKey = `${modal.id}:`;  // redraw, keeping what was entered
    poll();
  };
  overlay.hidden = false;
}

// --- the composer ----------------------------------------------------------------------------

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = $("box");
  const text = box.value.trim();
  if (!text) return;
  box.value = "";
  if (text.startsWith("/")) await api("command", { channel: view.channel, text });
  else await api("message", { channel: view.channel, text });
});

$("you").addEventListener("change", () => {
  view.user = $("you").value;
  view.drawn = "";
  view.modalKey = "";
  view.modalErrors = {};
  poll();
});

$("pins-button").addEventListener("click", () => { $("pins").hidden = !$("pins").hidden; });

poll();
setInterval(poll, POLL_MS);
