// otpgate dev outbox: new messages and status changes without a reload, and copy buttons.
"use strict";
(() => {
  const live = document.getElementById("live");
  const current = () => document.getElementById("messages");

  async function poll() {
    try {
      const answer = await fetch("/dev/outbox/cards" + window.location.search, {cache: "no-store"});
      if (!answer.ok) throw new Error(String(answer.status));
      const holder = document.createElement("template");
      holder.innerHTML = await answer.text();
      const fresh = holder.content.firstElementChild;
      if (fresh && fresh.dataset.state !== current().dataset.state) current().replaceWith(fresh);
      live.textContent = "live: new messages appear by themselves";
    } catch (error) {
      live.textContent = "otpgate does not answer; trying again";
    }
    window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 2000);

  async function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const area = document.createElement("textarea");  // plain http on a LAN address
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    try {
      await copy(button.dataset.copy);
      button.textContent = "Copied";
      button.classList.add("copied");
    } catch (error) {
      button.textContent = "Copy failed: select the code";
    }
  });
})();
