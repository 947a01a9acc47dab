/// The UI's stylesheet and script, compiled into the binary: wards are offline, so nothing is
/// fetched from a CDN and there is no build step.
package enum WebAssets {
    package static let css = #"""
        :root { --ink: #1d2733; --muted: #5b6878; --line: #d5dbe3; --bg: #f5f7fa; --card: #fff; --accent: #0b6bcb; --ok: #1f8a4c; --bad: #c0392b; --warn: #b26a00; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; color: var(--ink); background: var(--bg); }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: .75rem 1.25rem; padding: .6rem 1rem; background: #12324f; color: #fff; }
        header a, header button { color: #fff; }
        header nav { display: flex; gap: .25rem; flex-wrap: wrap; }
        header nav a { padding: .45rem .8rem; border-radius: .4rem; text-decoration: none; }
        header nav a[aria-current=page], header nav a:hover { background: rgba(255,255,255,.18); }
        .brand { font-weight: 700; }
        nav.tabs { display: flex; flex-wrap: wrap; gap: .25rem; border-bottom: 2px solid var(--line); margin-bottom: 1rem; }
        nav.tabs a { padding: .55rem 1rem; min-height: 44px; text-decoration: none; color: var(--accent); border-radius: .4rem .4rem 0 0; }
        nav.tabs a[aria-current=page] { background: var(--card); color: var(--ink); font-weight: 600; border: 2px solid var(--line); border-bottom-color: var(--card); margin-bottom: -2px; }
        .status { display: flex; gap: .6rem; align-items: center; margin-left: auto; }
        .link { padding: .2rem .6rem; border-radius: 1rem; font-size: .9rem; }
        .link.up { background: var(--ok); } .link.down { background: var(--bad); }
        .pending b { font-size: 1.1rem; }
        form.inline { display: inline; margin: 0; }
        header button { background: transparent; border: 1px solid rgba(255,255,255,.5); border-radius: .4rem; padding: .35rem .7rem; font: inherit; cursor: pointer; }
        main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
        body.bare main { max-width: 420px; margin-top: 10vh; }
        h1 { font-size: 1.5rem; margin: .5rem 0 1rem; } h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: .6rem; padding: 1rem; margin-bottom: 1rem; }
        .grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); }
        table { width: 100%; border-collapse: collapse; background: var(--card); }
        th, td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: #eef2f7; font-weight: 600; }
        .due { color: var(--warn); font-weight: 600; } .overdue { color: var(--bad); font-weight: 700; } .done { color: var(--ok); }
        label { display: block; font-weight: 600; margin: .6rem 0 .3rem; }
        input[type=text], input[type=password], input[type=search], input[type=date], input[type=tel], input[type=datetime-local], input[type=time], input[type=number], textarea, select {
          width: 100%; font: inherit; padding: .6rem .7rem; border: 1px solid #aab4c0; border-radius: .4rem; background: #fff; }
        textarea { min-height: 5rem; }
        button, .button { display: inline-block; font: inherit; min-height: 48px; padding: .6rem 1.2rem; border: 0; border-radius: .5rem;
          background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; }
        button.secondary { background: #e3e9f0; color: var(--ink); }
        button.danger { background: var(--bad); }
        :focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
        table + .card, table + form { margin-top: 1rem; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        details.card > summary { cursor: pointer; font-weight: 600; min-height: 32px; }
        .skip { position: absolute; left: -9999px; } .skip:focus { left: 1rem; top: .5rem; z-index: 10; background: #fff; color: var(--ink); padding: .5rem 1rem; }
        fieldset { border: 1px solid var(--line); border-radius: .6rem; margin: 0 0 1rem; padding: .8rem 1rem; background: var(--card); }
        legend { font-weight: 700; padding: 0 .3rem; }
        .choices { display: flex; flex-wrap: wrap; gap: .5rem; }
        .choices label { display: inline-flex; align-items: center; gap: .4rem; margin: 0; font-weight: 400; min-height: 48px; min-width: 48px;
          padding: .4rem .9rem; border: 1px solid #aab4c0; border-radius: .5rem; background: #fff; cursor: pointer; }
        .choices input { width: 1.3rem; height: 1.3rem; }
        .choices label:has(input:checked) { background: #dbeafe; border-color: var(--accent); }
        .flash { background: #e7f6ec; border: 1px solid #9fd5b3; padding: .6rem .8rem; border-radius: .4rem; }
        .error { background: #fdecea; border: 1px solid #f5b7b1; padding: .6rem .8rem; border-radius: .4rem; }
        .muted { color: var(--muted); }
        .board { display: grid; gap: .8rem; grid-template-columns: repeat(4, minmax(180px, 1fr)); overflow-x: auto; }
        .board section { background: #eef2f7; border-radius: .6rem; padding: .6rem; min-height: 8rem; }
        .board article { background: #fff; border: 1px solid var(--line); border-radius: .5rem; padding: .5rem; margin-bottom: .5rem; font-size: .95rem; }
        #screenpop:empty { display: none; }
        #screenpop { position: sticky; top: 0; z-index: 5; background: #fff8e1; border: 2px solid var(--warn); border-radius: .6rem; padding: .8rem 1rem; margin-bottom: 1rem; }
        svg text { font: 12px sans-serif; fill: var(--ink); }
        .chart { overflow-x: auto; }
        details > summary { cursor: pointer; color: var(--accent); margin: .4rem 0; }
        @media (max-width: 820px) { .board { grid-template-columns: 1fr; } header .status { margin-left: 0; } th, td { padding: .45rem; } }
        .scroll { overflow-x: auto; }
        ul.downloads { columns: 2; }
        .print-only { display: none; }
        /* A report prints as a report: no navigation, no forms, every chart's table open, black on white. */
        @media print {
          header, .skip, .no-print, form, details > summary, #screenpop { display: none !important; }
          .print-only { display: block; }
          body { background: #fff; color: #000; font-size: 11pt; }
          main { max-width: none; padding: 0; }
          .card { border: 1px solid #999; box-shadow: none; break-inside: avoid; }
          a { color: #000; text-decoration: none; }
          table { font-size: 10pt; }
        }
        """#

    package static let javascript = #"""
        // Skip logic: a question with data-show-if shows only when an earlier answer is one of data-values.
        function applySkipLogic() {
          document.querySelectorAll('[data-show-if]').forEach(function (box) {
            var name = 'q_' + box.dataset.showIf, values = box.dataset.values.split('|');
            var chosen = Array.from(document.querySelectorAll('[name="' + name + '"]')).filter(function (i) { return i.checked; }).map(function (i) { return i.value; });
            var shown = chosen.some(function (v) { return values.indexOf(v) >= 0; });
            box.hidden = !shown;
            box.querySelectorAll('input, textarea, select').forEach(function (i) { i.disabled = !shown; });
          });
        }
        document.addEventListener('change', applySkipLogic);
        applySkipLogic();

        // Forms that cannot be taken back (revoking a node) ask first.
        document.addEventListener('submit', function (event) {
          var question = event.target.dataset && event.target.dataset.confirm;
          if (question && !window.confirm(question)) event.preventDefault();
        });

        // Print buttons on the reports.
        document.querySelectorAll('[data-print]').forEach(function (button) {
          button.addEventListener('click', function () { window.print(); });
        });
        window.addEventListener('beforeprint', function () {
          document.querySelectorAll('figure.chart details').forEach(function (d) { d.open = true; });
        });

        // A file chosen for import is sent as its bytes (base64), so GB18030 files arrive intact.
        document.querySelectorAll('input[type=file][data-base64-into]').forEach(function (input) {
          input.addEventListener('change', function () {
            var target = document.getElementById(input.dataset.base64Into), file = input.files[0];
            if (!target || !file) return;
            var reader = new FileReader();
            reader.onload = function () {
              var bytes = new Uint8Array(reader.result), text = '';
              for (var i = 0; i < bytes.length; i += 32768) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768));
              target.value = btoa(text);
            };
            reader.readAsArrayBuffer(file);
          });
        });

        // The link indicator and the count of records not yet synced, kept current.
        function refreshLink() {
          var link = document.getElementById('link'), pending = document.getElementById('pending');
          if (!link || !pending) return;
          fetch('/api/status/link', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (s) {
            var peer = s.peers && s.peers[0], up = !!(peer && peer.connected);
            var count = (s.peers || []).reduce(function (m, p) { return Math.max(m, p.pendingOut); }, 0);
            link.className = 'link ' + (up ? 'up' : 'down');
            link.textContent = up ? link.dataset.up : link.dataset.down;
            pending.dataset.count = count;
            pending.querySelector('b').textContent = count;
          }).catch(function () { link.className = 'link down'; link.textContent = link.dataset.down; });
        }
        setInterval(refreshLink, 2000);

        // Screen pop: the phone system reports a call for this agent; the archive appears at once.
        if (document.body.dataset.role === 'agent' && document.getElementById('screenpop')) {
          var source = new EventSource('/desk/events');
          source.addEventListener('call', function (event) {
            var box = document.getElementById('screenpop');
            box.innerHTML = event.data;
            box.focus();
          });
        }
        """#
}
