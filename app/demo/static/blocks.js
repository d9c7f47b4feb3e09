// Block Kit and mrkdwn, rendered the way Slack's client shows them (closely enough).
// Text always goes through escapeHtml before any markup is added: what people typed never
// becomes HTML. Interactive elements call the handlers in `ctx` (see app.js).
"use strict";

const EMOJI = {
  pushpin: "📌", rotating_light: "🚨", white_check_mark: "✅", warning: "⚠️", memo: "📝",
  lock: "🔒", paperclip: "📎", hourglass: "⌛", hourglass_flowing_sand: "⏳", zzz: "💤",
  traffic_light: "🚥", technologist: "🧑‍💻", tada: "🎉", small_blue_diamond: "🔹",
  point_right: "👉", pager: "📟", page_facing_up: "📄", mega: "📣", eyes: "👀",
  leftwards_arrow_with_hook: "↩️", large_green_circle: "🟢", clipboard: "📋",
  calendar: "📅", bust_in_silhouette: "👤", arrows_counterclockwise: "🔄", arrow_up: "⬆️",
  arrow_down: "⬇️", alarm_clock: "⏰", fire: "🔥", "+1": "👍", red_circle: "🔴",
  large_orange_circle: "🟠", large_yellow_circle: "🟡", large_blue_circle: "🔵",
  heavy_check_mark: "✔️", x: "❌", bell: "🔔", mag: "🔍", chart_with_upwards_trend: "📈",
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "html") node.innerHTML = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function escapeHtml(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function unescapeSlack(text) {
  return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function emojify(html) {
  return html.replace(/:([a-z0-9_+\-]+):/g, (whole, name) => EMOJI[name] || whole);
}

function safeHref(url) {
  return /^(https?:|mailto:)/i.test(url) ? url : null;
}

// One `<…>` token of Slack markup: mentions, channels, special mentions, links.
function markupToken(inner, names) {
  const [target, label] = inner.split("|", 2);
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return `<span class="mention">@${escapeHtml(names.users[id] || label || id)}</span>`;
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return `<span class="mention">#${escapeHtml(names.channels[id] || label || id)}</span>`;
  }
  if (target.startsWith("!")) {
    if (target.startsWith("!subteam^")) return `<span class="mention">${escapeHtml(label || "@group")}</span>`;
    if (target.startsWith("!date^")) return escapeHtml(label || target.split("^")[2] || "");
    return `<span class="mention">@${escapeHtml(target.slice(1))}</span>`;
  }
  const href = safeHref(target);
  const text = escapeHtml(label || target);
  return href ? `<a href="${escapeHtml(href)}" target="_blank" rel="noopener">${text}</a>` : text;
}

function inlineMarkup(html) {
  return html
    .replace(/`([^`\n]+)`/g, "<code>$1</code>")
    .replace(/(^|[\s(>])\*([^*\n]+)\*(?=[\s).,!?:;<]|$)/g, "$1<b>$2</b>")
    .replace(/(^|[\s(>])_([^_\n]+)_(?=[\s).,!?:;<]|$)/g, "$1<i>$2</i>")
    .replace(/(^|[\s(>])~([^~\n]+)~(?=[\s).,!?:;<]|$)/g, "$1<s>$2</s>");
}

// Slack's mrkdwn: entities, <markup>, *bold* _italic_ ~strike~ `code`, ```blocks```, > quotes.
function mrkdwn(text, names) {
  const source = String(text || "");
  const parts = [];
  let last = 0;
  source.replace(/<([^<>\n]+)>/g, (whole, inner, offset) => {
    parts.push(escapeHtml(unescapeSlack(source.slice(last, offset))));
    parts.push("\u0000" + markupToken(unescapeSlack(inner), names) + "\u0001");
    last = offset + whole.length;
    return whole;
  });
  parts.push(escapeHtml(unescapeSlack(source.slice(last))));
  let html = parts.join("");
  const pres = [];
  html = html.replace(/```([\s\S]*?)```/g, (whole, code) => {
    pres.push(code.replace(/[\u0000\u0001]/g, ""));
    return `\u0002${pres.length - 1}\u0002`;
  });
  const lines = html.split("\n").map((line) => {
    const quoted = line.startsWith("&gt; ") || line === "&gt;";
    const body = emojify(inlineMarkup(quoted ? line.replace(/^&gt; ?/, "") : line));
    return quoted ? `<span class="quote">${body}</span>` : body;
  });
  html = lines.join("<br>").replace(/[\u0000\u0001]/g, "");
  return html.replace(/\u0002(\d+)\u0002/g, (whole, i) => `<pre>${pres[Number(i)]}</pre>`);
}

function textHtml(obj, names) {
  if (!obj) return "";
  if (typeof obj === "string") return emojify(escapeHtml(obj));
  if (obj.type === "mrkdwn") return mrkdwn(obj.text, names);
  return emojify(escapeHtml(obj.text || "")).replace(/\n/g, "<br>");
}

function plain(obj) {
  return !obj ? "" : typeof obj === "string" ? obj : obj.text || "";
}

function options(element) {
  const found = [...(element.options || [])];
  for (const group of element.option_groups || []) found.push(...(group.options || []));
  return found;
}

// --- elements ---------------------------------------------------------------------------

// ctx: {names, people, channels, surface: "message"|"modal", act(block, element, selected),
//       entered: {block_id: value} (modal only), errors}
// A button's `confirm` dialog, as Slack shows it before sending the click.
function confirmed(dialog) {
  if (!dialog) return true;
  const words = [plain(dialog.title), plain(dialog.text)].filter(Boolean).join("\n\n");
  return window.confirm(words);
}

function renderElement(block, element, ctx) {
  const act = (selected) => ctx.act(block, element, selected);
  const id = `${block.block_id}.${element.action_id}`;
  const initial = ctx.entered && block.block_id in ctx.entered ? ctx.entered[block.block_id] : undefined;
  switch (element.type) {
    case "button":
      return el("button", {
        type: "button", class: `btn ${element.style || ""}`, "data-action": element.action_id,
        onclick: () => confirmed(element.confirm) && act(undefined),
      }, plain(element.text));
    case "image":
      return el("img", { class: "accessory-image", src: element.image_url, alt: element.alt_text });
    case "overflow": {
      const select = el("select", { class: "overflow", "data-action": element.action_id,
        onchange: () => select.value && act(select.value) },
        el("option", { value: "", text: "⋯" }),
        options(element).map((o) => el("option", { value: o.value, text: plain(o.text) })));
      return select;
    }
    case "static_select": case "external_select": case "multi_static_select":
    case "multi_external_select": {
      const multi = element.type.startsWith("multi_");
      const chosen = initial !== undefined ? [].concat(initial || [])
        : multi ? (element.initial_options || []).map((o) => o.value)
        : element.initial_option ? [element.initial_option.value] : [];
      const select = el("select", { "data-block": block.block_id, "data-action": element.action_id,
        "data-kind": multi ? "multi" : "single", id, multiple: multi || undefined },
        multi ? null : el("option", { value: "", text: plain(element.placeholder) || "Select…" }),
        options(element).map((o) => el("option", { value: o.value, text: plain(o.text),
          selected: chosen.includes(o.value) || undefined })));
      select.addEventListener("change", () => {
        const value = multi ? [...select.selectedOptions].map((o) => o.value) : select.value || null;
        if (ctx.surface === "message" || ctx.dispatch(block)) act(value);
      });
      return select;
    }
    case "users_select": case "multi_users_select": case "conversations_select":
    case "channels_select": case "multi_conversations_select": case "multi_channels_select": {
      const multi = element.type.startsWith("multi_");
      const users = element.type.includes("users");
      const source = users ? ctx.people.map((p) => [p.id, `${p.name} (${p.title})`])
        : ctx.channels.map((c) => [c.id, `#${c.name}`]);
      const key = users ? "initial_user" : element.type.includes("channels") ? "initial_channel" : "initial_conversation";
      const chosen = initial !== undefined ? [].concat(initial || [])
        : [].concat(element[key] || element[key + "s"] || []);
      const select = el("select", { "data-block": block.block_id, "data-action": element.action_id,
        "data-kind": multi ? "multi" : "single", id, multiple: multi || undefined },
        multi ? null : el("option", { value: "", text: plain(element.placeholder) || "Select…" }),
        source.map(([value, label]) => el("option", { value, text: label,
          selected: chosen.includes(value) || undefined })));
      select.addEventListener("change", () => {
        const value = multi ? [...select.selectedOptions].map((o) => o.value) : select.value || null;
        if (ctx.surface === "message" || ctx.dispatch(block)) act(value);
      });
      return select;
    }
    case "checkboxes": case "radio_buttons": {
      const radio = element.type === "radio_buttons";
      const chosen = initial !== undefined ? [].concat(initial || [])
        : radio ? (element.initial_option ? [element.initial_option.value] : [])
        : (element.initial_options || []).map((o) => o.value);
      const group = el("div", { class: "choices", "data-block": block.block_id,
        "data-action": element.action_id, "data-kind": radio ? "radio" : "checkboxes" });
      for (const option of options(element)) {
        const input = el("input", { type: radio ? "radio" : "checkbox", name: id, value: option.value,
          checked: chosen.includes(option.value) || undefined });
        input.addEventListener("change", () => {
          const picked = [...group.querySelectorAll("input:checked")].map((i) => i.value);
          const value = radio ? picked[0] || null : picked;
          if (ctx.surface === "message" || ctx.dispatch(block)) act(value);
        });
        group.append(el("label", { class: "choice" }, input,
          el("span", { html: textHtml(option.text, ctx.names) }),
          option.description ? el("span", { class: "hint", html: textHtml(option.description, ctx.names) }) : null));
      }
      return group;
    }
    case "plain_text_input": case "email_text_input": case "url_text_input": case "number_input": {
      const value = initial !== undefined ? initial || "" : element.initial_value || "";
      const attrs = { "data-block": block.block_id, "data-action": element.action_id,
        "data-kind": "text", id, placeholder: plain(element.placeholder),
        maxlength: element.max_length };
      if (element.multiline) return el("textarea", { ...attrs, rows: 4, text: value });
      const type = { email_text_input: "email", url_text_input: "url", number_input: "number" }[element.type] || "text";
      return el("input", { ...attrs, type, value });
    }
    case "datepicker": case "timepicker": {
      const value = initial !== undefined ? initial || "" : element.initial_date || element.initial_time || "";
      return el("input", { type: element.type === "datepicker" ? "date" : "time",
        "data-block": block.block_id, "data-action": element.action_id, "data-kind": "text", id, value });
    }
    default:
      return el("span", { class: "unsupported", text: `[${element.type}]` });
  }
}

// --- blocks -----------------------------------------------------------------------------

function renderBlock(block, ctx) {
  const names = ctx.names;
  switch (block.type) {
    case "header":
      return el("div", { class: "b-header", html: textHtml(block.text, names) });
    case "divider":
      return el("hr", { class: "b-divider" });
    case "section": {
      const node = el("div", { class: "b-section", "data-block-id": block.block_id });
      const body = el("div", { class: "b-section-body" });
      if (block.text) body.append(el("div", { class: "b-text", html: textHtml(block.text, names) }));
      if (block.fields) {
        body.append(el("div", { class: "b-fields" },
          block.fields.map((f) => el("div", { class: "b-field", html: textHtml(f, names) }))));
      }
      node.append(body);
      if (block.accessory) node.append(el("div", { class: "accessory" }, renderElement(block, block.accessory, ctx)));
      return node;
    }
    case "context":
      return el("div", { class: "b-context" }, (block.elements || []).map((e) =>
        e.type === "image" ? el("img", { class: "ctx-image", src: e.image_url, alt: e.alt_text })
          : el("span", { html: textHtml(e, names) })));
    case "actions":
      return el("div", { class: "b-actions", "data-block-id": block.block_id },
        (block.elements || []).map((e) => renderElement(block, e, ctx)));
    case "image":
      return el("figure", { class: "b-image" },
        block.title ? el("figcaption", { html: textHtml(block.title, names) }) : null,
        el("img", { src: block.image_url || (block.slack_file || {}).url, alt: block.alt_text }));
    case "input": {
      const error = ctx.errors && ctx.errors[block.block_id];
      return el("div", { class: `b-input${error ? " has-error" : ""}`, "data-block-id": block.block_id },
        el("label", { class: "b-label", for: `${block.block_id}.${block.element.action_id}` },
          plain(block.label), block.optional ? el("span", { class: "optional", text: " (optional)" }) : null),
        renderElement(block, block.element, ctx),
        block.hint ? el("div", { class: "hint", html: textHtml(block.hint, names) }) : null,
        error ? el("div", { class: "error", "data-testid": "field-error", text: error }) : null);
    }
    case "rich_text":
      return el("div", { class: "b-text" }, richText(block.elements || []));
    case "file":
      return el("div", { class: "b-file" }, el("a", { href: `/files/${block.file_id}`, target: "_blank", text: "📎 file" }));
    default:
      return el("div", { class: "unsupported", text: `[${block.type} block]` });
  }
}

function richText(elements) {
  return elements.map((part) => {
    if (part.elements) return el(part.type === "rich_text_preformatted" ? "pre" : "div", {}, richText(part.elements));
    if (part.type === "link") return el("a", { href: safeHref(part.url) || undefined, target: "_blank", text: part.text || part.url });
    if (part.type === "emoji") return EMOJI[part.name] || `:${part.name}:`;
    return part.text || "";
  });
}

function renderBlocks(blocks, ctx) {
  return (blocks || []).map((block) => renderBlock(block, ctx));
}
