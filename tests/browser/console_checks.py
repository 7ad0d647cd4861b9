"""What a reader of the console sees, measured in the page: words broken across lines, headers taller than two
lines, times without their zone, and boxes that scroll sideways (used by test_console_reads)."""

# Every word (a run of non-space characters) of every text node in the lists and tables: its boxes must lie on
# one line. A word broken inside ("$114.2/7", "cancelle/d") has boxes on two.
BROKEN_WORDS = """() => {
  const broken = [];
  const scope = document.querySelectorAll(
    '#result_list td, #result_list th, #order-summary, #order-timeline td, #board .ticket, #link-health, ' +
    '#ops-dashboard .card, .inline-group td, fieldset .readonly, #link-circuits td, #link-circuits th');
  for (const cell of scope) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT, {
      acceptNode: n => n.parentElement.closest('.blob, pre, details:not([open])')
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
    });
    let node;
    while ((node = walker.nextNode())) {
      const re = /[^\\s-]+-?/g;  // a break after a hyphen ("Re-/enable") is typography, not a broken word
      let m;
      while ((m = re.exec(node.textContent))) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        // A word longer than any cell (a URL, a JSON body) has to break; ids, money and states never are.
        if (tops.size > 1 && m[0].length <= 40) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""

# Header cells of the lists and tables: at most two lines of text each.
TALL_HEADERS = """() => {
  const tall = [];
  for (const th of document.querySelectorAll('#result_list thead th, #link-circuits th, .inline-group thead th')) {
    const text = th.querySelector('.text') || th;
    const range = document.createRange();
    range.selectNodeContents(text);
    const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
    if (lines.size > 2) tall.push(`${th.innerText.trim()} (${lines.size} lines)`);
  }
  return tall;
}"""

# Times of day in the page's text (not form inputs, charts or a store's weekly opening hours, which are
# wall-clock hours, not moments) must carry a zone: "04:33:12 UTC", "23:33:05 EST", "14:00 +0530".
UNZONED_TIMES = r"""() => {
  const root = document.querySelector('#content') || document.body;
  const bad = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest('svg, script, style, textarea, .opening-hours, .no-zone, select, option')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const time = /(?<![\d.:\/"])\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?![\d\/])/g;
  let node;
  while ((node = walker.nextNode())) {
    const text = node.textContent;
    let m;
    while ((m = time.exec(text))) {
      const after = text.slice(m.index + m[0].length, m.index + m[0].length + 8);
      if (!/^\s(?:[A-Z]{2,5}\b|[+-]\d{2})/.test(after)) {
        bad.push(text.slice(Math.max(0, m.index - 20), m.index + 30).trim());
      }
    }
  }
  return bad;
}"""

# Django's own date rendering ("Dec. 7, 2026, 4:33 a.m.") has no zone: none may be left.
DJANGO_DATES = r"""() => {
  const text = (document.querySelector('#content') || document.body).innerText;
  const month = '(?:Jan|Feb|March|April|May|June|July|Aug|Sept|Oct|Nov|Dec)';
  return text.match(new RegExp(`\\b${month}\\.? \\d{1,2}, \\d{4}, \\d{1,2}(?::\\d{2})? [ap]\\.m\\.`, 'g')) || [];
}"""

OVERFLOW = """() => {
  const root = document.documentElement;
  const out = {page: root.scrollWidth - root.clientWidth};
  document.querySelectorAll('.results, #board, #trends, #link-health, #ops-dashboard').forEach((box, i) => {
    out[(box.id || box.className) + i] = box.scrollWidth - box.clientWidth;
  });
  return out;
}"""


def measure(page) -> dict:
    return {
        "broken": page.evaluate(BROKEN_WORDS),
        "tall_headers": page.evaluate(TALL_HEADERS),
        "unzoned": page.evaluate(UNZONED_TIMES),
        "django_dates": page.evaluate(DJANGO_DATES),
        "overflow": {box: px for box, px in page.evaluate(OVERFLOW).items() if px > 0},
    }
