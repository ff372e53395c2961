// Search and filters over Browse (Scheduled and Live Now): kept in the page's URL so a reload or a
// shared link shows the same results, and turned into GET /api/sessions's query.
const KEYS = ["q", "domain", "price", "max_price", "from", "to", "has_seats", "page"];

// A date picked in the learner's own zone → the instant its day starts there.
function localDayStart(value, plusDays = 0) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

export function setupBrowseFilters({ form, pager, onChange }) {
  const fields = form.elements;
  let timer = null;
  let total = 0;
  let pageSize = 24;

  function read() {
    const url = new URLSearchParams(location.search);
    return Object.fromEntries(KEYS.map((k) => [k, url.get(k) || ""]));
  }

  function show(values) {
    fields.q.value = values.q;
    fields.domain.value = values.domain;
    fields.price.value = values.price;
    fields.max_price.value = values.max_price;
    fields.from.value = values.from;
    fields.to.value = values.to;
    fields.has_seats.checked = values.has_seats === "1";
  }

  function write(values) {
    const url = new URL(location.href);
    for (const key of KEYS) {
      if (values[key] && !(key === "page" && values[key] === "1")) url.searchParams.set(key, values[key]);
      else url.searchParams.delete(key);
    }
    history.replaceState(history.state, "", url);
  }

  function fromForm(page = "1") {
    return {
      q: fields.q.value.trim(), domain: fields.domain.value.trim(), price: fields.price.value,
      max_price: fields.max_price.value.trim(), from: fields.from.value, to: fields.to.value,
      has_seats: fields.has_seats.checked ? "1" : "", page,
    };
  }

  function changed(page = "1") {
    write(fromForm(page));
    onChange();
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); clearTimeout(timer); changed(); });
  form.addEventListener("input", (event) => {
    clearTimeout(timer);
    // Typing waits for a pause; the other controls apply at once.
    timer = setTimeout(changed, event.target.name === "q" || event.target.name === "max_price" ? 350 : 0);
  });
  form.addEventListener("reset", () => setTimeout(() => changed(), 0));
  pager.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-page]");
    if (button) { changed(button.dataset.page); pager.scrollIntoView?.({ block: "nearest" }); }
  });
  show(read());

  return {
    active() {
      const v = read();
      return KEYS.some((k) => k !== "page" && v[k]);
    },
    // The API query for a tab: Recommended takes no filters; the others take all of them.
    query(tab) {
      const v = read();
      const q = new URLSearchParams({ tab });
      if (tab === "recommended") return q.toString();
      if (v.q) q.set("q", v.q);
      if (v.domain) q.set("domain", v.domain);
      if (v.price) q.set("price", v.price);
      if (v.max_price) q.set("max_price_paise", String(Math.round(Number(v.max_price) * 100)));
      if (v.from) q.set("from", localDayStart(v.from));
      if (v.to) q.set("to", localDayStart(v.to, 1));
      if (v.has_seats) q.set("has_seats", "1");
      if (v.page) q.set("page", v.page);
      return q.toString();
    },
    showPage(body) {
      total = body.total ?? 0;
      pageSize = body.page_size || pageSize;
      const page = body.page || 1;
      const pages = Math.max(1, Math.ceil(total / pageSize));
      pager.replaceChildren();
      pager.hidden = body.total === undefined || pages <= 1;
      if (pager.hidden) return;
      const button = (label, to, enabled) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "btn small ghost";
        b.textContent = label;
        b.dataset.page = String(to);
        b.disabled = !enabled;
        return b;
      };
      const where = document.createElement("span");
      where.className = "muted small";
      where.textContent = `Page ${page} of ${pages} · ${total} sessions`;
      pager.append(button("◀ Previous", page - 1, page > 1), where, button("Next ▶", page + 1, body.has_more));
    },
  };
}
