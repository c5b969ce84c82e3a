import { connect } from 'node:net';
import type { SshProbe } from '../../core/ports.js';
import { READY_BANNER_MARKER } from '../../core/ready-banner.js';

/** Reads the SSH identification line (RFC 4253 §4.2) and looks for the ready marker. */
export const tcpSshProbe =
  (timeoutMs = 3000): SshProbe =>
  (host, port) =>
    new Promise((resolve) => {
      const socket = connect({ host, port, timeout: timeoutMs });
      let received = '';
      const finish = (ready: boolean) => {
        socket.destroy();
        resolve(ready);
      };
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        received += chunk;
        const line = received.split('\n').find((candidate) => candidate.startsWith('SSH-'));
        if (line) finish(line.includes(READY_BANNER_MARKER));
        else if (received.length > 4096) finish(false);
      });
      socket.on('timeout', () => finish(false));
      socket.on('error', () => finish(false));
      socket.on('end', () => finish(false));
    });
