/**
 * The simplest Node TCP relay, the reference a tunnel is held against: every
 * connection accepted is piped to `127.0.0.1:<target>` and back, half-close
 * kept, nothing checked, framed or counted. Two of them in a row have the
 * process layout of a tunnel (`kube-bastion connect` → gateway → backend), so
 * their throughput is what any Node relay of that shape can reach here.
 *
 *   node --import tsx bench/lib/tcp-relay.ts <target-port>   prints the port it listens on
 */
import net from 'node:net';

const target = Number(process.argv[2]);
if (!Number.isInteger(target) || target <= 0) throw new Error('usage: tcp-relay.ts <target-port>');

const server = net.createServer({ allowHalfOpen: true }, (accepted) => {
  const onward = net.connect({ port: target, host: '127.0.0.1', allowHalfOpen: true });
  accepted.pipe(onward);
  onward.pipe(accepted);
  accepted.on('error', () => onward.destroy());
  onward.on('error', () => accepted.destroy());
});
server.listen(0, '127.0.0.1', () =>
  console.log(`listening on ${(server.address() as net.AddressInfo).port}`),
);
