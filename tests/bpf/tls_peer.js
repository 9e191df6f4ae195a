// SPDX-License-Identifier: MIT
// HTTPS peers for test_tls on Node.js, whose OpenSSL is linked into the
// node executable and driven through memory BIOs (tls_peer.py's twins).
//
//   node tls_peer.js server CERT KEY FD TOTAL
//       Serves HTTPS on the listening socket inherited as FD: every request
//       answered after 200 ms, 500 for /fail and 200 otherwise, /continue
//       with a 100 Continue first. Exits once it has answered TOTAL requests.
//   node tls_peer.js client PORT CONNS PER_CONN GOFILE [continue]
//       Waits until GOFILE exists, then makes CONNS keep-alive connections to
//       127.0.0.1:PORT with PER_CONN requests on each, concurrently; request
//       i (over all connections) asks for /fail when i % 10 is 0, 3 or 6, and
//       with `continue` for /continue (an interim response before the 200)
//       when it is 1.
//       Exits 0 when every answer had the status asked for.
'use strict';
const fs = require('fs');
const https = require('https');

const DELAY_MS = 200;
const wants500 = (i) => [0, 3, 6].includes(i % 10);
let interim = false;
const pathOf = (i) => (wants500(i) ? '/fail' : interim && i % 10 === 1 ? '/continue' : '/ok');

function server(cert, key, fd, total) {
  let done = 0;
  const srv = https.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)},
    (req, res) => {
      req.resume();
      if (req.url === '/continue')
        res.writeContinue(); // an interim response: the 200 below is the final one
      setTimeout(() => {
        const body = 'x'.repeat(100);
        res.writeHead(req.url === '/fail' ? 500 : 200, {'Content-Length': body.length});
        res.end(body, () => {
          if (++done === total)
            setTimeout(() => process.exit(0), 500); // let the last answer reach the client
        });
      }, DELAY_MS);
    });
  srv.listen({fd});
}

function client(port, conns, perConn, gofile) {
  const deadline = Date.now() + 30000;
  const wrong = [];
  const run = (c) => new Promise((resolve) => {
    const agent = new https.Agent({keepAlive: true, maxSockets: 1});
    let j = 0;
    const next = () => {
      if (j === perConn) {
        agent.destroy();
        return resolve();
      }
      const i = c * perConn + j++;
      const want = wants500(i) ? 500 : 200;
      const req = https.request({host: '127.0.0.1', port, agent, rejectUnauthorized: false,
                                 path: pathOf(i), timeout: 20000}, (res) => {
        if (res.statusCode !== want)
          wrong.push([i, res.statusCode]);
        res.resume();
        res.on('end', next);
      });
      req.on('error', (e) => {
        wrong.push([i, e.message]);
        next();
      });
      req.end();
    };
    next();
  });
  const wait = () => {
    if (fs.existsSync(gofile)) {
      Promise.all([...Array(conns).keys()].map(run)).then(() => {
        if (wrong.length)
          console.error('client: wrong answers:', wrong.slice(0, 5));
        process.exit(wrong.length ? 1 : 0);
      });
    } else if (Date.now() > deadline) {
      console.error('client: no go after 30 s');
      process.exit(2);
    } else {
      setTimeout(wait, 10);
    }
  };
  wait();
}

const a = process.argv.slice(2);
if (a.length === 5 && a[0] === 'server')
  server(a[1], a[2], +a[3], +a[4]);
else if ((a.length === 5 || (a.length === 6 && a[5] === 'continue')) && a[0] === 'client') {
  interim = a.length === 6;
  client(+a[1], +a[2], +a[3], a[4]);
} else {
  console.error('usage: tls_peer.js server CERT KEY FD TOTAL | ' +
                'client PORT CONNS PER_CONN GOFILE [continue]');
  process.exit(2);
}
