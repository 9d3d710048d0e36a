// A one-line progress display on stderr for terminals (nothing when stderr is not a TTY).

export class Progress {
  private last = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly total: number | null) {}

  update(done: number, fields: Record<string, string>): void {
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.last < 200 && done !== this.total) return;
    this.last = now;
    const width = 24;
    let bar = '';
    if (this.total) {
      const f = Math.min(1, done / this.total);
      bar = `[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${(f * 100).toFixed(0).padStart(3)}% `;
    }
    const text = Object.entries(fields)
      .map(([k, v]) => `${k} ${v}`)
      .join('  ');
    process.stderr.write(`\r${bar}${done}${this.total ? `/${this.total}` : ''}  ${text}\x1b[K`);
  }

  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}
