/** A small SVG chart: req/s and p99 per phase next to the ceiling. */
export interface ChartPhase {
  name: string;
  rps: number;
  p99: number;
}

function bars(
  x0: number,
  title: string,
  unit: string,
  values: { label: string; value: number; color: string }[],
): string {
  const width = 360;
  const height = 220;
  const max = Math.max(...values.map((v) => v.value), 1);
  const barWidth = 70;
  const gap = (width - values.length * barWidth) / (values.length + 1);
  const parts = [`<text x="${x0 + width / 2}" y="20" text-anchor="middle" font-weight="bold">${title}</text>`];
  values.forEach((v, i) => {
    const h = Math.round((v.value / max) * (height - 60));
    const x = x0 + gap + i * (barWidth + gap);
    const y = height - 20 - h;
    parts.push(`<rect x="${x}" y="${y}" width="${barWidth}" height="${h}" fill="${v.color}"/>`);
    parts.push(
      `<text x="${x + barWidth / 2}" y="${y - 5}" text-anchor="middle">${Math.round(v.value).toLocaleString('en-US')}${unit}</text>`,
    );
    parts.push(`<text x="${x + barWidth / 2}" y="${height - 5}" text-anchor="middle">${v.label}</text>`);
  });
  return parts.join('\n');
}

export function chartSvg(phases: ChartPhase[], subtitle: string): string {
  const colors = ['#9e9e9e', '#1565c0', '#2e7d32', '#ef6c00'];
  const rps = phases.map((p, i) => ({ label: p.name, value: p.rps, color: colors[i % colors.length]! }));
  const p99 = phases.map((p, i) => ({ label: p.name, value: p.p99, color: colors[i % colors.length]! }));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="260" font-family="sans-serif" font-size="12">
<rect width="760" height="260" fill="white"/>
${bars(10, 'requests per second', '', rps)}
${bars(390, 'p99 latency', ' ms', p99)}
<text x="380" y="250" text-anchor="middle" fill="#555">${subtitle}</text>
</svg>
`;
}
