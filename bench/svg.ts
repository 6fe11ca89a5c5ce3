/** The frame every benchmark chart shares: size, fonts, white background, title and unit line. */
export function svgDocument(frame: {
  width: number
  height: number
  title: string
  unit: string
  /** CSS rules of the chart's own classes, added to those of the title and unit. */
  style: string
  parts: readonly string[]
}): string {
  const { width, height, title, unit, style, parts } = frame
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" role="img">
<title>${escapeXml(title)}</title>
<style>.title{font-size:15px;font-weight:600;fill:#1f2933}.unit{font-size:12px;fill:#52606d}${style}</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="12" y="22" class="title">${escapeXml(title)}</text>
<text x="12" y="40" class="unit">${escapeXml(unit)}</text>
${parts.join('\n')}
</svg>
`
}

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
}
