// The playground's chat page: act as one of the playground's people and talk to the bot.
// Bot text is always placed with textContent (entities become <b>, <i>, ... elements
// whose content is textContent too); bot text is never parsed as HTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const list = $("messages");
  const who = $("who");
  const text = $("text");
  const status = $("status");
  const menu = $("commands");
  const menuButton = $("menu-button");
  const replyKeyboard = $("reply-keyboard");
  const toast = $("toast");
  const alertBox = $("alert");

  let people = [];
  let current = null;       // the key of the person we are
  let version = null;       // the version of the chat shown
  let poll = null;          // AbortController of the running long poll
  let commands = [];
  let noticesSeen = null;   // the id of the latest pop-up notice shown (null: none fetched yet)
  let toastTimer = null;
  let firstRender = true;   // the first transcript of this person: show its end
  let atEnd = true;         // the chat is scrolled to its end (so it stays there)
  const shown = new Map();  // message id -> {node, signature}
  // This run's secret, which the page carries and other sites cannot read: every POST
  // sends it, with a JSON body, or the playground refuses it.
  const token = document.querySelector('meta[name="playground-token"]').content;

  // -- talking to the playground's API --------------------------------------------------

  async function api(path, body) {
    const options = body === undefined ? {} : {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-Playground-Token": token},
      body: JSON.stringify(body),
    };
    const response = await fetch(path, options);
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (!response.ok || !data || !data.ok) {
      throw new Error((data && data.error) || `The playground answered ${response.status}.`);
    }
    return data;
  }

  function say(message, isError) {
    status.textContent = message || "";
    status.classList.toggle("error", Boolean(isError));
  }

  // -- who we are ------------------------------------------------------------------------

  async function start() {
    let data;
    try {
      data = await api("/api/users");
    } catch (error) {
      say(`Could not reach the playground: ${error.message}`, true);
      return;
    }
    people = data.users;
    $("bot-name").textContent = data.bot.name;
    text.maxLength = data.max_text;
    for (const person of people) {
      const option = document.createElement("option");
      option.value = person.key;
      option.textContent = person.role ? `${person.name} (${person.role})` : person.name;
      who.append(option);
    }
    setCommands(data.commands);
    const wanted = decodeURIComponent(location.hash.slice(1));
    become(people.some((p) => p.key === wanted) ? wanted : people[0].key);
  }

  function become(key) {
    if (poll) poll.abort();
    current = key;
    version = null;
    noticesSeen = null;
    firstRender = true;
    delete list.dataset.version;
    who.value = key;
    const person = people.find((p) => p.key === key);
    $("who-description").textContent = person ? person.description : "";
    $("empty-text").textContent = person && person.role
      ? "This is a new chat with the bot. Press Start, as in Telegram: the bot shows what you can do."
      : "This is a new chat with the bot. Press Start to begin, as in Telegram.";
    history.replaceState(null, "", `#${encodeURIComponent(key)}`);
    for (const {node} of shown.values()) node.remove();
    shown.clear();
    toast.hidden = true;
    if (alertBox.open) alertBox.close();
    closeMenu();
    say("");
    follow(key);
  }

  // Long-poll the chat: each answer comes when the chat changed (or after a while).
  async function follow(key) {
    const controller = new AbortController();
    poll = controller;
    let failures = 0;
    while (current === key && !controller.signal.aborted) {
      const query = version === null ? "" : `?version=${version}&timeout=25`;
      try {
        const response = await fetch(`/api/chats/${encodeURIComponent(key)}${query}`,
                                     {signal: controller.signal});
        const data = await response.json();
        if (!data.ok) throw new Error(data.error);
        if (current !== key) return;
        failures = 0;
        if (status.dataset.lost) { delete status.dataset.lost; say(""); }
        version = data.version;
        list.dataset.version = String(version);  // what is shown (tests wait on it)
        setCommands(data.commands);
        render(data.messages);
        showNotices(data.notices || []);
      } catch (error) {
        if (controller.signal.aborted) return;
        failures += 1;
        status.dataset.lost = "1";
        say("Lost touch with the playground; trying again…", true);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * failures)));
      }
    }
  }

  // -- showing the chat ------------------------------------------------------------------

  function render(messages) {
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    const focusedId = focusedMessageId();
    const seen = new Set();
    let previous = null;
    let added = false;
    for (const message of messages) {
      seen.add(message.id);
      const signature = JSON.stringify(message);
      let entry = shown.get(message.id);
      if (!entry || entry.signature !== signature) {
        const node = messageNode(message);
        if (entry) entry.node.replaceWith(node); else added = true;
        entry = {node, signature};
        shown.set(message.id, entry);
      }
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (expected !== entry.node) {
        if (previous) previous.after(entry.node); else list.prepend(entry.node);
      }
      previous = entry.node;
    }
    for (const [id, entry] of shown) {
      if (!seen.has(id)) { entry.node.remove(); shown.delete(id); }
    }
    $("empty").hidden = messages.length > 0;
    showReplyKeyboard(messages);
    if (focusedId !== null && !list.contains(document.activeElement)) {
      // The message with the focus was edited: keep the keyboard user near where they were.
      const entry = shown.get(focusedId);
      const target = entry && entry.node.querySelector("button, a");
      (target || lastButton() || text).focus({preventScroll: true});
    }
    if (firstRender || added) showLatest();
    else if (nearBottom) { scrolledByUs(); list.scrollTop = list.scrollHeight; atEnd = true; }
    firstRender = false;
  }

  // Scroll to the end of the chat; but when the latest message is taller than the chat
  // (a question with a long keyboard, on a phone), to its top, so the question shows.
  function showLatest() {
    scrolledByUs();
    list.scrollTop = list.scrollHeight;
    atEnd = true;
    const latest = list.lastElementChild;
    if (!latest || latest.offsetHeight <= list.clientHeight) return;
    const offset = latest.getBoundingClientRect().top - list.getBoundingClientRect().top;
    list.scrollTop = Math.max(0, list.scrollTop + offset - 8);
    atEnd = false;
  }

  // Whether the end stays in view is the person's choice: only their own scrolling (wheel,
  // touch, keys, the scroll bar) changes it, not the page's, nor the browser's own
  // adjustments while pictures load.
  let scrolling = false;
  function scrolledByUs() { scrolling = false; }
  for (const kind of ["wheel", "touchstart", "keydown", "pointerdown"]) {
    list.addEventListener(kind, () => { scrolling = true; }, {passive: true});
  }
  list.addEventListener("scroll", () => {
    if (scrolling) atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  });

  // -- pop-up notices (answerCallbackQuery's text): a toast that fades, or an alert --------

  function showNotices(notices) {
    const latest = notices.length ? notices[notices.length - 1].id : 0;
    if (noticesSeen === null) { noticesSeen = latest; return; }  // earlier ones: not news
    for (const notice of notices) {
      if (notice.id <= noticesSeen) continue;
      if (notice.alert) showAlert(notice.text); else showToast(notice.text);
    }
    noticesSeen = Math.max(noticesSeen, latest);
  }

  function showToast(message) {
    toast.textContent = message;
    toast.hidden = false;
    toast.classList.remove("fading");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      toast.classList.add("fading");
      toastTimer = setTimeout(() => { toast.hidden = true; toast.classList.remove("fading"); },
                              600);
    }, 3500);
  }

  function showAlert(message) {
    $("alert-text").textContent = message;
    if (!alertBox.open) alertBox.showModal();
  }

  function focusedMessageId() {
    const item = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("li[data-id]") : null;
    return item && list.contains(item) ? Number(item.dataset.id) : null;
  }

  // The first button of the latest keyboard: where a keyboard user goes next.
  function lastButton() {
    const keyboards = list.querySelectorAll(".keyboard");
    return keyboards.length ? keyboards[keyboards.length - 1].querySelector("button") : null;
  }

  function messageNode(message) {
    const item = document.createElement("li");
    item.dataset.id = String(message.id);
    item.className = message.from_bot ? "message bot" : "message user";
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    const sender = document.createElement("span");
    sender.className = "visually-hidden";
    sender.textContent = message.from_bot ? "Bot: " : "You: ";
    bubble.append(sender);
    if (message.file) bubble.append(fileNode(message));
    if (message.text) {
      const body = document.createElement("div");
      body.className = "text";
      body.append(formatted(message.text, message.entities || []));
      bubble.append(body);
    } else if (!message.file) {
      const body = document.createElement("div");
      body.className = "text muted";
      body.textContent = `(${message.kind})`;
      bubble.append(body);
    }
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = (message.edited ? "edited " : "") + message.time;
    bubble.append(meta);
    item.append(bubble);
    if (message.buttons && message.buttons.length) item.append(keyboardNode(message));
    return item;
  }

  function fileNode(message) {
    const file = message.file;
    if (file.image) {
      const image = document.createElement("img");
      image.src = file.url;
      image.alt = message.text ? `Image: ${message.text}` : "Image from the bot";
      image.className = "photo";
      // A picture takes its height when it has loaded, after the chat was scrolled: keep
      // the end of the chat in view if it was (switching to a chat with charts, say).
      image.addEventListener("load", () => { if (atEnd) list.scrollTop = list.scrollHeight; });
      return image;
    }
    const link = document.createElement("a");
    link.href = file.url;
    link.className = "document";
    link.setAttribute("download", file.name);
    link.textContent = `📄 ${file.name}`;
    return link;
  }

  function keyboardNode(message) {
    const keyboard = document.createElement("div");
    keyboard.className = "keyboard";
    keyboard.setAttribute("role", "group");
    keyboard.setAttribute("aria-label", "Answer options");
    for (const row of message.buttons) {
      const line = document.createElement("div");
      line.className = "row";
      for (const button of row) {
        if (button.url) {
          const link = document.createElement("a");
          link.href = button.url;
          link.target = "_blank";
          link.rel = "noopener noreferrer";
          link.className = "key";
          link.textContent = `${button.text} ↗`;
          line.append(link);
          continue;
        }
        const key = document.createElement("button");
        key.type = "button";
        key.className = "key";
        key.textContent = button.text;
        key.disabled = !button.data;
        key.addEventListener("click", () => press(message.id, button.data, key));
        line.append(key);
      }
      keyboard.append(line);
    }
    return keyboard;
  }

  // Telegram's entities (UTF-16 offsets, like JavaScript strings) as nested elements.
  const ENTITY_TAGS = {bold: "b", italic: "i", underline: "u", strikethrough: "s",
                       code: "code", pre: "pre", spoiler: "span", blockquote: "blockquote"};

  function formatted(source, entities) {
    const root = document.createDocumentFragment();
    const cuts = new Set([0, source.length]);
    for (const e of entities) { cuts.add(e.offset); cuts.add(e.offset + e.length); }
    const points = [...cuts].filter((n) => n >= 0 && n <= source.length).sort((a, b) => a - b);
    for (let i = 0; i + 1 < points.length; i++) {
      const from = points[i], to = points[i + 1];
      let node = document.createTextNode(source.slice(from, to));
      for (const e of entities) {
        if (e.offset <= from && to <= e.offset + e.length) node = wrap(node, e);
      }
      root.append(node);
    }
    return root;
  }

  function wrap(node, entity) {
    let outer;
    if (entity.type === "text_link" && /^https?:\/\//.test(entity.url || "")) {
      outer = document.createElement("a");
      outer.href = entity.url;
      outer.target = "_blank";
      outer.rel = "noopener noreferrer";
    } else if (entity.type === "url" && /^https?:\/\//.test(node.textContent)) {
      outer = document.createElement("a");
      outer.href = node.textContent;
      outer.target = "_blank";
      outer.rel = "noopener noreferrer";
    } else if (ENTITY_TAGS[entity.type]) {
      outer = document.createElement(ENTITY_TAGS[entity.type]);
      if (entity.type === "spoiler") outer.className = "spoiler";
    } else {
      return node;
    }
    outer.append(node);
    return outer;
  }

  // The reply keyboard of the bot's latest message, if it has one, above the text box.
  function showReplyKeyboard(messages) {
    const lastBot = [...messages].reverse().find((m) => m.from_bot);
    const rows = lastBot && lastBot.keyboard ? lastBot.keyboard : [];
    replyKeyboard.replaceChildren();
    for (const row of rows) {
      for (const label of row) {
        const key = document.createElement("button");
        key.type = "button";
        key.className = "key";
        key.textContent = label;
        key.addEventListener("click", () => send(label));
        replyKeyboard.append(key);
      }
    }
    replyKeyboard.hidden = rows.length === 0;
  }

  // -- acting ----------------------------------------------------------------------------

  async function send(message) {
    if (!message.trim()) { say("Please type a message first.", true); return false; }
    try {
      await api(`/api/chats/${encodeURIComponent(current)}/send`, {text: message});
      say("");
      return true;
    } catch (error) {
      say(error.message, true);
      return false;
    }
  }

  async function press(messageId, data, key) {
    key.classList.add("pressed");
    key.setAttribute("aria-busy", "true");
    try {
      await api(`/api/chats/${encodeURIComponent(current)}/press`,
                {message_id: messageId, data});
      say("");
    } catch (error) {
      say(error.message, true);
    } finally {
      key.removeAttribute("aria-busy");
      setTimeout(() => key.classList.remove("pressed"), 600);
    }
  }

  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = text.value;
    if (await send(value)) {
      text.value = "";
      fitText();
    }
    text.focus();
  });

  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });

  function fitText() {
    text.style.height = "auto";
    text.style.height = `${Math.min(text.scrollHeight, 140)}px`;
  }
  text.addEventListener("input", fitText);

  $("start").addEventListener("click", async () => {
    if (await send("/start")) text.focus();
  });

  who.addEventListener("change", () => become(who.value));
  window.addEventListener("hashchange", () => {
    const wanted = decodeURIComponent(location.hash.slice(1));
    if (wanted !== current && people.some((p) => p.key === wanted)) become(wanted);
  });

  // -- the command menu (from the bot's setMyCommands) --------------------------------------

  function setCommands(latest) {
    const signature = JSON.stringify(latest || []);
    if (signature === JSON.stringify(commands)) return;
    commands = latest || [];
    menu.replaceChildren();
    for (const command of commands) {
      const item = document.createElement("button");
      item.type = "button";
      item.className = "command";
      item.setAttribute("role", "menuitem");
      const name = document.createElement("span");
      name.className = "command-name";
      name.textContent = `/${command.command}`;
      const description = document.createElement("span");
      description.className = "command-description";
      description.textContent = command.description;
      item.append(name, description);
      item.addEventListener("click", async () => {
        closeMenu();
        await send(`/${command.command}`);
        text.focus();
      });
      menu.append(item);
    }
    menuButton.hidden = commands.length === 0;
  }

  function closeMenu() {
    menu.hidden = true;
    menuButton.setAttribute("aria-expanded", "false");
  }

  menuButton.addEventListener("click", () => {
    const opening = menu.hidden;
    menu.hidden = !opening;
    menuButton.setAttribute("aria-expanded", String(opening));
    if (opening && menu.firstChild) menu.firstChild.focus();
  });

  menu.addEventListener("keydown", (event) => {
    const items = [...menu.querySelectorAll("button")];
    const at = items.indexOf(document.activeElement);
    if (event.key === "Escape") { closeMenu(); menuButton.focus(); }
    if (event.key === "ArrowDown" && items.length) {
      event.preventDefault(); items[(at + 1) % items.length].focus();
    }
    if (event.key === "ArrowUp" && items.length) {
      event.preventDefault(); items[(at - 1 + items.length) % items.length].focus();
    }
  });

  start();
})();
