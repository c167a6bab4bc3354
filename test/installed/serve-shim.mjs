// Preloaded (`node --import`) into a README example that serves HTTP, by the installed-packages
// test: each server that starts listening announces its address on stdout, so the test knows
// when the example is up and where to send its request. The example listens on the ports it names.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenAndAnnounce(...args) {
  this.once('listening', () => {
    const a = this.address();
    if (a !== null && typeof a === 'object') process.stdout.write(`\nCTXKIT_EXAMPLE_LISTENING ${a.address} ${a.port}\n`);
  });
  return listen.apply(this, args);
};
