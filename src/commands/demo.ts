/** `kube-bastion demo`: the gateway with an embedded IdP and sample services, no cluster needed. */
import { defineCommand, UsageError } from './command.js';

export const command = defineCommand({
  usage: 'demo [--port PORT]',
  summary: 'try it out: embedded sign-in (users alice and bob) and sample services, no cluster needed',
  options: { port: { type: 'string', short: 'p', value: 'PORT', help: 'demo: public port (default 8080)' } },
  async run(values) {
    const port = values.port === undefined ? 8080 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`invalid --port "${values.port}"`);
    const { runDemo } = await import('../demo/index.js');
    await runDemo({ port });
  },
});
