// A WAI-ARIA tablist over buttons[data-tab]: arrow keys move between tabs, the choice is kept in
// the URL (?tab=) so a redirect such as "My Sessions → Upcoming" can name the tab to open.
export function setupTabs(tablist, { param = "tab", initial, onSelect }) {
  const tabs = [...tablist.querySelectorAll("[role=tab]")];
  const names = tabs.map((tab) => tab.dataset.tab);

  function select(name, { focus = false, updateUrl = true } = {}) {
    if (!names.includes(name)) name = names[0];
    for (const tab of tabs) {
      const on = tab.dataset.tab === name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      if (on && focus) tab.focus();
      if (on) document.getElementById(tab.getAttribute("aria-controls"))?.setAttribute("aria-labelledby", tab.id);
    }
    if (updateUrl) {
      const url = new URL(location.href);
      url.searchParams.set(param, name);
      history.replaceState(history.state, "", url);
    }
    onSelect(name);
  }

  tablist.addEventListener("click", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (tab) select(tab.dataset.tab);
  });
  tablist.addEventListener("keydown", (event) => {
    const at = names.indexOf(tablist.querySelector("[aria-selected=true]")?.dataset.tab);
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (step === undefined) return;
    event.preventDefault();
    select(names[(at + step + names.length) % names.length], { focus: true });
  });

  const fromUrl = new URLSearchParams(location.search).get(param);
  select(names.includes(fromUrl) ? fromUrl : initial || names[0], { updateUrl: false });
  return { select, current: () => tablist.querySelector("[aria-selected=true]")?.dataset.tab };
}
