// Keep the bell's unread count current without reloading the page.
(function () {
  const bell = document.getElementById("bell");
  if (!bell) return;
  const badge = bell.querySelector(".bell-count");
  async function refresh() {
    try {
      const answer = await fetch(bell.dataset.src, {credentials: "same-origin"});
      if (!answer.ok) return;
      const {unread} = await answer.json();
      badge.textContent = unread;
      badge.dataset.unread = unread;
      badge.hidden = unread === 0;
    } catch (_) { /* offline for a moment: try again next time */ }
  }
  setInterval(refresh, Number(bell.dataset.every || 10000));
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
})();
