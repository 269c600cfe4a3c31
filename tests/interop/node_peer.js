// node's `ws` as a peer of wsfast (tests/interop/test_node_ws.py runs it; NODE_PATH finds `ws`).
//
//   node node_peer.js client URL   runs the conversation of peers.py against a wsfast echo server,
//                                  prints one JSON line with what it saw, exits 0 when all matched
//   node node_peer.js server       an echo server on a free port: prints {"port": N}, then, when
//                                  the client has closed, {"close": [code, reason], ...} and exits
//
// permessage-deflate is on in both roles with threshold 0, so even small messages are compressed
// (ws compresses only messages of 1 KiB and more by default).
'use strict';
const WebSocket = require('ws');

const DEFLATE = { threshold: 0 };

// peers.py's noise(): xorshift32, low byte of each step.
function noise(size, seed = 6455) {
  const out = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = x & 0xff;
  }
  return out;
}

// The messages of peers.py, built the same way (the wsfast server checks it got exactly those).
function messages() {
  const cycle = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) cycle[i] = i;
  return [
    'hello',
    '',
    Buffer.alloc(0),
    'x'.repeat(125),
    Buffer.from('y'.repeat(126)),
    'héllo wörld, привет, 你好, 😀 '.repeat(400),
    Buffer.concat(Array(256).fill(cycle)),
    noise(70000),
  ];
}

function same(sent, got, isBinary) {
  if (typeof sent === 'string') return !isBinary && got.toString('utf8') === sent;
  return isBinary && Buffer.compare(sent, got) === 0;
}

function fail(why) {
  console.log(JSON.stringify({ ok: false, why }));
  process.exit(1);
}

function client(url) {
  const ws = new WebSocket(url, { perMessageDeflate: DEFLATE });
  const queue = messages();
  const fragments = ['frag', 'mented ', 'méssage'];
  let step = 0;
  let pongs = 0;
  ws.on('open', () => {
    if (!ws.extensions.includes('permessage-deflate')) fail('no permessage-deflate: ' + ws.extensions);
    ws.send(queue[0]);
  });
  ws.on('message', (data, isBinary) => {
    if (step < queue.length) {
      const sent = queue[step];
      if (!same(sent, data, isBinary)) fail(`message ${step} (${sent.length}) not echoed intact`);
      step++;
      if (step < queue.length) {
        ws.send(queue[step]);
      } else {
        // RFC 6455 §5.4: one message in three frames.
        fragments.forEach((piece, i) => ws.send(piece, { fin: i === fragments.length - 1 }));
      }
      return;
    }
    if (isBinary || data.toString('utf8') !== fragments.join('')) fail('fragmented message not echoed whole');
    step++;
    ws.ping(Buffer.from('ping from ws'));
  });
  ws.on('pong', (data) => {
    if (data.toString() !== 'ping from ws') fail('pong with another payload');
    pongs++;
    ws.close(4001, 'client says bye');
  });
  ws.on('close', (code, reason) => {
    const ok = step === queue.length + 1 && pongs === 1;
    console.log(JSON.stringify({ ok, extensions: ws.extensions, close: [code, reason.toString()], step }));
    process.exit(ok ? 0 : 1);
  });
  ws.on('error', (err) => fail(String(err)));
}

function server() {
  const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0, perMessageDeflate: DEFLATE }, () => {
    console.log(JSON.stringify({ port: wss.address().port }));
  });
  wss.on('connection', (ws, request) => {
    const offered = request.headers['sec-websocket-extensions'] || '';
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('close', (code, reason) => {
      console.log(JSON.stringify({ close: [code, reason.toString()], offered, extensions: ws.extensions }));
      wss.close(() => process.exit(0));
    });
  });
}

if (process.argv[2] === 'client') client(process.argv[3]);
else if (process.argv[2] === 'server') server();
else fail('usage: node node_peer.js client URL | server');
