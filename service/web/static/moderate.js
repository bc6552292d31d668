/* CommentGate moderation page: keyboard triage and decisions without a page reload.
   Everything also works without this file: the forms post and the page reloads. */
(() => {
  "use strict";

  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const items = () => Array.from(document.querySelectorAll(".item"));
  const toast = document.getElementById("toast");
  const help = document.getElementById("help");
  const bulk = document.getElementById("bulk");
  const stateUrl = document.querySelector('meta[name="state-url"]')?.content || "";
  const queue = document.getElementById("queue");
  const SELECTION = "commentgate.selection";
  const COMPACT = "commentgate.compact";
  const WAITING = ["holding", "sending", "retrying"];
  const DELIVERY_LABELS = {
    holding: "Held for undo", sending: "Sending", retrying: "Retrying", sent: "Sent",
    failed: "Not sent", kept: "Kept",
  };
  let current = 0;
  let toastTimer = 0;
  let pollTimer = 0;
  // Counts the page's own POSTs as they start and end: a poll asked before one of them ended
  // may carry the state from before it, and must not paint over what it changed.
  let changes = 0;
  let undoable = null;
  let allMatching = false;
  const selectMatching = document.getElementById("select-matching");

  function say(message, seconds = 2.6, action = null) {
    if (!toast) return;
    toast.textContent = message;
    if (action) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "toast-action";
      button.textContent = action.label;
      button.addEventListener("click", action.run);
      toast.append(" ", button);
    }
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, seconds * 1000);
  }

  function offerUndo(cards, data, message, body) {
    // The site is sent the decisions only once this window closes.
    const until = Date.now() + data.undo_seconds * 1000;
    undoable = { cards, url: data.undo_url, body, until };
    say(message, data.undo_seconds, { label: "Undo (z)", run: undoLast });
  }

  function restoreCard(card, state) {
    const { item, by } = card;
    showStatus(item, state.status);
    const seen = item.querySelector('input[name="expected_status"]');
    if (seen) seen.value = state.status;
    item.querySelector(".reasons .reason.moderator")?.remove();
    const byline = item.querySelector(".by");
    if (byline) byline.textContent = by;
    showDelivery(item, state.delivery);
    if (!state.delivery) item.querySelector(".delivery").hidden = true;
    item.classList.remove("decided");
  }

  async function undoLast() {
    const last = undoable;
    undoable = null;
    if (!last || Date.now() > last.until) {
      say("Nothing to undo.");
      return;
    }
    try {
      const { response, data } = await post(last.url, last.body);
      if (!response.ok) throw new Error(data.error?.message || response.statusText);
      const states = new Map(data.items.map((state) => [state.id, state]));
      last.cards.forEach((card) => restoreCard(card, states.get(card.item.dataset.id)));
      showCounts(data.counts);
      const list = items();
      if (list.includes(last.cards[0].item)) focus(list.indexOf(last.cards[0].item));
      const what = data.items.length > 1 ? `${data.items.length} comments are` : `#${data.external_id} is`;
      say(`Undone: ${what} ${data.status} again; the site was sent nothing.`);
    } catch (error) {
      if (error.message !== "signed out") say(`Not undone: ${error.message}`);
    }
  }

  function signedOut() {
    // The session ended: say so, and keep what was selected for after signing in again.
    saveSelection();
    const banner = document.getElementById("signed-out");
    if (banner) banner.hidden = false;
    say("You are signed out. Sign in again; your selection is kept.", 8);
  }

  async function post(url, body) {
    changes += 1;
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrf },
      });
    } finally {
      changes += 1;
    }
    if (response.status === 401) {
      signedOut();
      throw new Error("signed out");
    }
    const data = await response.json().catch(() => ({}));
    return { response, data };
  }

  function showDelivery(item, state) {
    const badge = item.querySelector(".delivery");
    if (!badge || !state) return;
    badge.className = "delivery " + state;
    badge.dataset.delivery = state;
    badge.textContent = DELIVERY_LABELS[state] || state;
    badge.hidden = false;
  }

  function showDecider(item, data) {
    const by = item.querySelector(".by");
    if (by) by.textContent = `by ${data.moderator}` + (data.label ? ` as ${data.label}` : "");
    const reasons = item.querySelector(".reasons");
    if (!reasons || !data.reason) return;
    reasons.querySelectorAll(".reason.moderator").forEach((li) => li.remove());
    const li = document.createElement("li");
    li.className = "reason moderator";
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.textContent = "Moderator";
    const text = document.createElement("span");
    text.className = "reason-text";
    text.textContent = data.reason;
    li.append(chip, " ", text);
    reasons.prepend(li);
  }

  function showCounts(counts) {
    if (!counts) return;
    document.querySelectorAll(".tab[data-status]").forEach((tab) => {
      const count = tab.querySelector(".count");
      if (count && tab.dataset.status in counts) count.textContent = counts[tab.dataset.status];
    });
  }

  function dropOut(item) {
    // A comment no longer in this view's status leaves the queue; the next one takes its place.
    const list = items();
    const index = list.indexOf(item);
    if (index < 0) return;
    item.remove();
    if (index < current) current -= 1;
    if (index === current) focus(current);
    fillUp();
  }

  function inQueue(item, status) {
    return queue && queue.contains(item) && status !== queue.dataset.status;
  }

  async function pollState() {
    // Decisions made elsewhere, deliveries and counts: every few seconds, every second while a
    // delivery is on its way.
    clearTimeout(pollTimer);
    const list = items();
    if (!stateUrl) return; // with no cards on screen the counts still come
    const query = new URLSearchParams(queue?.dataset.filters || "");
    list.forEach((item) => query.append("ids", item.dataset.id));
    let waiting = false;
    const asked = changes;
    try {
      const response = await fetch(`${stateUrl}?${query}`, {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      if (response.ok && asked !== changes) {
        waiting = true; // out of date: a decision or an undo of this page came meanwhile
      } else if (response.ok) {
        const data = await response.json();
        let gone = 0;
        list.forEach((item) => {
          const status = data.statuses[item.dataset.id];
          const wasSent = item.querySelector(".delivery")?.dataset.delivery === "sent";
          if (item.classList.contains("decided") && wasSent && inQueue(item, status)) {
            dropOut(item); // decided here and the site has it: the queue moves on
            return;
          }
          showDelivery(item, data.deliveries[item.dataset.id]);
          if (!item.classList.contains("decided") && inQueue(item, status)) {
            // The card in hand stays, with the colleague's status: pressing a key on it says who
            // decided and offers the override. Any other leaves the queue.
            if (item === items()[current]) showStatus(item, status);
            else {
              gone += 1;
              dropOut(item);
            }
          }
          waiting ||= WAITING.includes(item.querySelector(".delivery")?.dataset.delivery);
        });
        if (gone) say(`${gone} comment${gone > 1 ? "s" : ""} decided by colleagues left the queue.`);
        showCounts(data.counts);
        arrivals(data.matching ?? data.counts?.[queue?.dataset.status]);
        const banner = document.getElementById("deliveries-failing");
        if (banner) banner.hidden = !data.failing;
      }
    } finally {
      pollTimer = setTimeout(pollState, waiting ? 1000 : 3000);
    }
  }

  let loading = null;
  function loadMore() {
    // The next cards under the same filters: no page boundary to stop at.
    if (!queue?.dataset.more) return Promise.resolve();
    if (loading) return loading;
    loading = fetch(queue.dataset.more, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(async (response) => {
      if (!response.ok) return;
      const data = await response.json();
      const known = new Set(items().map((item) => item.dataset.id));
      const batch = document.createElement("template");
      batch.innerHTML = data.html;
      batch.content.querySelectorAll(".item").forEach((item) => {
        if (!known.has(item.dataset.id)) queue.append(item);
      });
      queue.dataset.more = data.more || "";
      if (!data.more) document.querySelector(".pager")?.remove();
      restoreSelection();
      syncSelection();
    }).finally(() => { loading = null; });
    return loading;
  }

  function arrivals(waiting) {
    // Comments that arrived after the last card (oldest first, under the page's filters): they
    // flow in too.
    const list = items();
    const open = list.filter((item) => !item.classList.contains("decided")).length;
    const last = list[list.length - 1];
    if (!queue?.dataset.arrivals || queue.dataset.more || !last) return;
    if ((waiting || 0) <= open) return;
    const join = queue.dataset.arrivals.includes("?") ? "&" : "?";
    queue.dataset.more = `${queue.dataset.arrivals}${join}cursor=${encodeURIComponent(last.dataset.after)}`;
    loadMore();
  }

  function fillUp() {
    const open = items().filter((item) => !item.classList.contains("decided")).length;
    if (open - current < 5) loadMore();
  }

  async function next() {
    if (current >= items().length - 1) await loadMore();
    focus(current + 1);
    fillUp();
  }

  function focus(index) {
    const list = items();
    if (!list.length) return;
    current = Math.max(0, Math.min(index, list.length - 1));
    list.forEach((item, i) => item.classList.toggle("current", i === current));
    list[current].focus({ preventScroll: true });
    const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    list[current].scrollIntoView({ block: "nearest", behavior: still ? "auto" : "smooth" });
  }

  async function nextUndecided() {
    let list = items();
    if (list.slice(current + 1).every((item) => item.classList.contains("decided"))) {
      await loadMore();
      list = items();
    }
    for (let i = current + 1; i < list.length; i++) {
      if (!list[i].classList.contains("decided")) {
        focus(i);
        fillUp();
        return;
      }
    }
    focus(current);
  }

  function showStatus(item, status) {
    const badge = item.querySelector(".badge");
    if (badge) {
      badge.className = "badge " + status;
      badge.textContent = status.charAt(0).toUpperCase() + status.slice(1);
    }
    item.dataset.status = status;
    return badge;
  }

  async function decide(item, decision) {
    if (!item || item.classList.contains("decided")) return;
    const form = item.querySelector("form.decide");
    if (!form) return;
    const body = new FormData(form);
    body.set("decision", decision);
    const previous = { by: item.querySelector(".by")?.textContent || "" };
    item.classList.add("decided");
    try {
      const { response, data } = await post(form.action, body);
      const current = data.error?.details?.current;
      if (response.status === 409 && current) {
        // A colleague decided meanwhile: show their decision; pressing again overrides it.
        const seen = form.querySelector('input[name="expected_status"]');
        if (seen) seen.value = current.status;
        showStatus(item, current.status);
        throw new Error(`${data.error.message.split(";")[0]}. Press again to override.`);
      }
      if (!response.ok) throw new Error(data.error?.message || response.statusText);
      showStatus(item, data.status);
      const seen = form.querySelector('input[name="expected_status"]');
      if (seen) seen.value = data.status;
      showDecider(item, data);
      showDelivery(item, data.delivery);
      showCounts(data.counts);
      pollState();
      const undoBody = new FormData();
      undoBody.set("decision_id", data.decision_id);
      const verb = item.querySelector(".badge")?.textContent || data.status;
      offerUndo([{ item, by: previous.by }], data, `${verb}: #${data.external_id}.`, undoBody);
      if (item.matches(".queue .item")) nextUndecided();
      else item.classList.remove("decided"); // one comment's page: it may be decided again
    } catch (error) {
      item.classList.remove("decided");
      if (error.message !== "signed out") say(`Not decided: ${error.message}`);
    }
  }

  function toggleSelect(item) {
    const box = item?.querySelector('input[type="checkbox"][name="ids"]');
    if (!box) return;
    box.checked = !box.checked;
    syncSelection();
  }

  function syncSelection() {
    const boxes = Array.from(document.querySelectorAll('input[name="ids"]'));
    const chosen = boxes.filter((box) => box.checked);
    boxes.forEach((box) => box.closest(".item")?.classList.toggle("selected", box.checked));
    const count = document.getElementById("selected-count");
    if (count) count.textContent = `${chosen.length} selected`;
    document.querySelectorAll("[data-bulk]").forEach((b) => { b.disabled = chosen.length === 0; });
    const all = document.getElementById("select-all");
    if (all) all.checked = boxes.length > 0 && chosen.length === boxes.length;
    if (!all?.checked) allMatching = false;
    if (selectMatching) {
      selectMatching.hidden = !all?.checked;
      selectMatching.textContent = allMatching
        ? `All ${selectMatching.dataset.total} matching are selected`
        : `Select all ${selectMatching.dataset.total} matching`;
      selectMatching.setAttribute("aria-pressed", String(allMatching));
    }
    if (count && allMatching) count.textContent = `${selectMatching.dataset.total} selected`;
    saveSelection();
  }

  function saveSelection() {
    if (!bulk) return;
    const ids = Array.from(document.querySelectorAll('input[name="ids"]:checked'), (b) => b.value);
    try {
      if (ids.length) sessionStorage.setItem(SELECTION, JSON.stringify(ids));
      else sessionStorage.removeItem(SELECTION);
    } catch { /* storage off: the selection lives as long as the page */ }
  }

  function restoreSelection() {
    let ids = [];
    try { ids = JSON.parse(sessionStorage.getItem(SELECTION) || "[]"); } catch { ids = []; }
    document.querySelectorAll('input[name="ids"]').forEach((box) => {
      if (ids.includes(box.value)) box.checked = true;
    });
  }

  async function sendBulk(button) {
    const body = new FormData(bulk);
    if (button?.value) body.set("decision", button.value);
    try {
      const url = allMatching ? selectMatching.dataset.action : bulk.action;
      const { response, data } = await post(url, body);
      if (!response.ok) throw new Error(data.error?.message || response.statusText);
      const decided = new Set(data.decisions.map((pair) => pair.split(":")[0]));
      const cards = items().filter((item) => decided.has(item.dataset.id)).map((item) => {
        const card = { item, by: item.querySelector(".by")?.textContent || "" };
        item.querySelector('input[name="ids"]').checked = false;
        showStatus(item, data.status);
        showDelivery(item, "holding");
        item.classList.add("decided");
        return card;
      });
      syncSelection();
      showCounts(data.counts);
      const undoBody = new FormData();
      data.decisions.forEach((pair) => undoBody.append("decisions", pair));
      offerUndo(cards, data, data.message, undoBody);
      pollState();
      nextUndecided();
    } catch (error) {
      if (error.message !== "signed out") say(`Not decided: ${error.message}`);
    }
  }

  function submitBulk(decision) {
    if (!bulk || !document.querySelector('input[name="ids"]:checked')) {
      say("Select comments first (x)");
      return;
    }
    const button = bulk.querySelector(`button[value="${decision}"]`);
    if (button) bulk.requestSubmit(button);
  }

  function toggleHelp() {
    if (!help) return;
    if (help.open) help.close(); else help.showModal();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = 'input:not([type="checkbox"]):not([type="radio"]), textarea, select, [contenteditable]';
    if (target.closest(typing)) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if (event.key === "Enter" && target.closest("a, button")) return;
    if (help?.open && event.key !== "?") return;
    const item = items()[current];
    const actions = {
      j: next,
      k: () => focus(current - 1),
      a: () => decide(item, "approve"),
      r: () => decide(item, "reject"),
      d: () => decide(item, "reject"), // WordPress's keys: a, u, s, d, z, j, k, x all work
      u: () => item?.dataset.status !== "held" && decide(item, "hold"), // WordPress's unapprove
      s: () => decide(item, "reject:spam"),
      t: () => decide(item, "reject:toxic"),
      x: () => toggleSelect(item),
      A: () => submitBulk("approve"),
      R: () => submitBulk("reject"),
      o: () => item?.dataset.open && (window.location.href = item.dataset.open),
      Enter: () => item?.dataset.open && (window.location.href = item.dataset.open),
      z: undoLast,
      "/": () => document.getElementById("search")?.focus(),
      "?": toggleHelp,
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form === bulk) {
      event.preventDefault();
      sendBulk(event.submitter);
      return;
    }
    if (!form.matches("form.decide")) return;
    event.preventDefault();
    const item = form.closest(".item");
    const list = items();
    if (list.includes(item)) focus(list.indexOf(item));
    decide(item, event.submitter?.value || "approve");
  });

  document.addEventListener("click", (event) => {
    const item = event.target.closest(".item");
    if (item && !event.target.closest('a, button, input:not([type="checkbox"]), select, textarea')) {
      focus(items().indexOf(item));
    }
    if (event.target.closest("#select-matching")) {
      allMatching = !allMatching;
      syncSelection();
    }
    if (event.target.closest("[data-help]")) toggleHelp();
    if (event.target.closest("[data-compact]")) setCompact(!document.body.classList.contains("compact"));
    if (event.target.closest("[data-help-close]")) help?.close();
  });

  document.addEventListener("change", (event) => {
    if (event.target.id === "select-all") {
      document.querySelectorAll('input[name="ids"]').forEach((box) => {
        box.checked = event.target.checked;
      });
    }
    if (event.target.matches('input[name="ids"], #select-all')) syncSelection();
  });

  // The author panel is fetched when a card's "Author" is opened; its forms post as usual.
  document.addEventListener("toggle", async (event) => {
    const panel = event.target;
    if (!panel.matches?.("details.author-panel") || !panel.open || panel.dataset.loaded) return;
    panel.dataset.loaded = "1";
    const slot = panel.querySelector(".author-slot");
    try {
      const response = await fetch(panel.dataset.url, {
        credentials: "same-origin", headers: { Accept: "text/html" },
      });
      if (response.status === 401) return signedOut();
      if (!response.ok) throw new Error(String(response.status));
      slot.innerHTML = await response.text();  // rendered and escaped by the server
    } catch {
      delete panel.dataset.loaded;
      slot.textContent = "The author panel could not be loaded; close and open it to try again.";
    }
  }, true);

  function setCompact(on) {
    document.body.classList.toggle("compact", on);
    document.querySelectorAll("[data-compact]").forEach((b) => b.setAttribute("aria-pressed", String(on)));
    try { localStorage.setItem(COMPACT, on ? "1" : ""); } catch { /* a preference, no more */ }
  }

  try {
    if (localStorage.getItem(COMPACT)) setCompact(true);
  } catch { /* storage off */ }
  restoreSelection();
  if (items().length) focus(0);
  syncSelection();
  pollState();
})();
