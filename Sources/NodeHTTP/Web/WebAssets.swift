/// The UI's stylesheet and script, compiled into the binary: wards are offline, so nothing is
/// fetched from a CDN and there is no build step.
package enum WebAssets {
    package static let css = #"""
        :root { --ink: #1d2733; --muted: #5b6878; --line: #d5dbe3; --bg: #f5f7fa; --card: #fff; --accent: #0b6bcb; --ok: #17783f; --bad: #c0392b; --warn: #9a5b00; }
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
        :focus-visible { outline: 3px solid #1d2733; outline-offset: 2px; box-shadow: 0 0 0 6px #f5a623; }
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
        /* The department kiosk: big type and targets for anyone walking up. */
        body.kiosk { font-size: 1.35rem; }
        body.kiosk main { max-width: 960px; margin-top: 2rem; }
        body.kiosk .choices label { min-height: 64px; min-width: 64px; font-size: 1.3rem; }
        body.kiosk button, body.kiosk a.button { min-height: 64px; font-size: 1.3rem; padding: .6rem 2rem; }
        a.button { display: inline-block; background: var(--accent); color: #fff; border-radius: .5rem; text-decoration: none; }
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

    /// The bedside tablet's service worker, scope `/ward`: ward pages and assets network first,
    /// from the cache when the gateway is out of reach. Nothing else is cached.
    package static let serviceWorker = #"""
        var CACHE = 'suifang-ward', STAMP = '/ward/__stored', SESSION_MS = 8 * 3600 * 1000;
        self.addEventListener('install', function () { self.skipWaiting(); });
        self.addEventListener('activate', function (event) { event.waitUntil(self.clients.claim()); });
        self.addEventListener('fetch', function (event) {
          var request = event.request, url = new URL(request.url);
          if (url.origin !== self.location.origin) return;
          // Logging in or out ends what the cache may show: it goes first.
          if (url.pathname === '/login' || url.pathname === '/logout') { event.waitUntil(caches.delete(CACHE)); return; }
          if (request.method !== 'GET') return;
          var ward = url.pathname === '/ward' || url.pathname.indexOf('/ward/') === 0;
          if (!ward && url.pathname.indexOf('/assets/') !== 0) return;
          // Another ward's list (a manager's `?ward=`) is never kept for the tablet's nurse.
          var keep = !url.searchParams.has('ward');
          var key = url.pathname === '/ward' ? '/ward' : request;
          event.respondWith(fetch(request).then(function (response) {
            // Only the pages themselves: not a redirect to the login page.
            if (keep && response.ok && !response.redirected) {
              var copy = response.clone();
              caches.open(CACHE).then(function (cache) {
                cache.put(key, copy);
                cache.put(STAMP, new Response(String(Date.now())));
              });
            }
            return response;
          }).catch(function () {
            // Without the gateway: what was kept, for as long as a session lasts at most.
            return caches.open(CACHE).then(function (cache) {
              return cache.match(STAMP).then(function (stamp) { return stamp ? stamp.text() : '0'; }).then(function (stored) {
                if (Date.now() - Number(stored) > SESSION_MS) { return caches.delete(CACHE).then(function () { return Response.error(); }); }
                return cache.match(key).then(function (cached) { return cached || Response.error(); });
              });
            });
          }));
        });
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

        // The kiosk: nothing but the survey; a half-filled form empties itself after two idle minutes.
        if (document.body.classList.contains('kiosk')) {
          document.addEventListener('contextmenu', function (event) { event.preventDefault(); });
          var idle;
          var restart = function () {
            clearTimeout(idle);
            idle = setTimeout(function () { if (document.getElementById('survey')) location.replace(location.pathname); }, 120000);
          };
          ['click', 'keydown', 'touchstart', 'input'].forEach(function (name) { document.addEventListener(name, restart); });
          restart();
        }

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

        // The bedside tablet without its gateway: the service worker keeps the ward pages it has
        // seen (and the survey forms of the ward list, fetched ahead); a survey posted while the
        // gateway is out of reach waits in this browser and is sent again, with its response id,
        // until the gateway answers. The header shows how many wait.
        var QUEUE = 'suifang-bedside-queue', USED = 'suifang-bedside-used', REFUSED = 'suifang-bedside-refused';
        function stored(key) { try { return JSON.parse(localStorage.getItem(key) || '[]'); } catch (e) { return []; } }
        function store(key, items) { localStorage.setItem(key, JSON.stringify(items)); }
        function showQueue(needsLogin) {
          var box = document.getElementById('tablet-queue');
          if (!box) return;
          var count = stored(QUEUE).length, refused = stored(REFUSED).length;
          box.hidden = count === 0 && refused === 0;
          box.querySelector('b').textContent = count;
          box.querySelector('.refused').textContent = refused ? ' · ' + box.dataset.refused + ': ' + refused : '';
          box.title = needsLogin ? box.dataset.login : '';
        }
        function send(entry) {
          // This page's form token: the session that kept the answers may have ended since.
          var body = new URLSearchParams(entry.body), token = document.querySelector('input[name="_csrf"]');
          if (token) body.set('_csrf', token.value);
          return fetch(entry.action, { method: 'POST', body: body.toString(), credentials: 'same-origin',
                                       headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
        }
        // Accepted: the gateway answered with the ward list (a repeat of an accepted id is accepted too).
        function accepted(response) { return response.redirected && new URL(response.url).pathname === '/ward'; }
        var flushing = false;
        function flush() {
          var queue = stored(QUEUE);
          if (flushing || !queue.length) return;
          flushing = true;
          var entry = queue[0];
          send(entry).then(function (response) {
            flushing = false;
            var loggedOut = (response.redirected && new URL(response.url).pathname === '/login') || response.status === 401 || response.status === 403;
            var refused = response.headers.get('Suifang-Refused') === 'answers';
            // Anything but an acceptance or the gateway's word that these answers can never be taken
            // (no session, a form token from before, a gateway in trouble): they wait and are sent again.
            if (!accepted(response) && !refused) { showQueue(loggedOut); return; }
            store(QUEUE, stored(QUEUE).filter(function (e) { return e.id !== entry.id; }));
            // Refused answers are kept on the tablet, counted apart, never dropped.
            if (refused) store(REFUSED, stored(REFUSED).concat([entry]).slice(-200));
            showQueue(false);
            flush();
          }).catch(function () { flushing = false; showQueue(false); });
        }
        document.addEventListener('submit', function (event) {
          var form = event.target;
          if (!form.hasAttribute || !form.hasAttribute('data-offline') || event.defaultPrevented) return;
          event.preventDefault();
          // The capture time goes with the answers: sent later, they keep the time they were given.
          var fields = new URLSearchParams(new FormData(form));
          fields.set('capturedAt', new Date().toISOString());
          var entry = { id: form.elements.responseId.value, action: form.action, body: fields.toString() };
          send(entry).then(function (response) {
            if (accepted(response)) { location.href = response.url; return; }
            return response.text().then(function (html) { document.open(); document.write(html); document.close(); });
          }).catch(function () {
            store(QUEUE, stored(QUEUE).filter(function (e) { return e.id !== entry.id; }).concat([entry]));
            store(USED, stored(USED).concat([entry.id]).slice(-500));
            var status = document.getElementById('offline-status');
            status.textContent = status.dataset.saved;
            status.hidden = false;
            form.querySelectorAll('button, input, textarea, select').forEach(function (i) { i.disabled = true; });
            showQueue(false);
            window.scrollTo(0, 0);
          });
        });
        (function () {
          var form = document.querySelector('form[data-offline]');
          if (form && stored(USED).indexOf(form.elements.responseId.value) >= 0) {
            // This form came from the cache and its answers already wait: not twice.
            var status = document.getElementById('offline-status');
            status.textContent = status.dataset.used;
            status.hidden = false;
            form.querySelectorAll('button, input, textarea, select').forEach(function (i) { i.disabled = true; });
          }
        })();
        if (document.body.dataset.role === 'visitor') {
          showQueue(false);
          if ('serviceWorker' in navigator) {
            navigator.serviceWorker.register('/sw.js', { scope: '/ward' }).catch(function () {});
            navigator.serviceWorker.ready.then(function () {
              // The ward list's survey forms, fetched through the worker so they open without the gateway too.
              if (navigator.serviceWorker.controller && location.pathname === '/ward' && navigator.onLine) {
                document.querySelectorAll('a[href^="/ward/survey/"]').forEach(function (link) {
                  fetch(link.href, { credentials: 'same-origin' }).catch(function () {});
                });
              }
            });
          }
          window.addEventListener('online', flush);
          setInterval(flush, 5000);
          flush();
        }
        document.addEventListener('submit', function (event) {
          // Logging out: the cached ward pages go with the session; waiting answers stay.
          if (event.target.action && new URL(event.target.action).pathname === '/logout' && window.caches) caches.delete('suifang-ward');
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
