import { escapeXml } from './escapeXml';

export interface HtmlSection {
  /** Plain text (escaped). */
  heading: string;
  /** Trusted HTML, e.g. from lineChartSvg or htmlTable; callers escape their own text. */
  html: string;
}

export interface HtmlPageOptions {
  title: string;
  subtitle?: string;
  sections: HtmlSection[];
}

// Inline styles only: the report must open from disk without any network access.
const STYLE = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; color: #222; background: #f6f7f9; }
header { background: #14365d; color: #fff; padding: 20px 32px; }
header h1 { margin: 0; font-size: 24px; }
header p { margin: 6px 0 0; opacity: 0.85; }
main { max-width: 1000px; margin: 0 auto; padding: 16px 24px 48px; }
section { background: #fff; border: 1px solid #e1e4e8; border-radius: 6px; padding: 12px 20px 16px; margin: 16px 0; overflow-x: auto; }
section h2 { font-size: 18px; margin: 4px 0 12px; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 4px 12px; border-bottom: 1px solid #eaecef; text-align: left; }
th { background: #f3f5f7; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
svg { max-width: 100%; height: auto; display: block; margin: 8px 0; }
.note { color: #666; font-size: 13px; }
.bad { color: #b00020; font-weight: 600; }
.good { color: #1b7f3b; font-weight: 600; }
`;

/** A complete, self-contained HTML document: inline CSS, no scripts, no external assets. */
export function htmlPage(opts: HtmlPageOptions): string {
  const sections = opts.sections
    .map((s) => `<section>\n<h2>${escapeXml(s.heading)}</h2>\n${s.html}\n</section>`)
    .join('\n');
  const subtitle = opts.subtitle ? `\n<p>${escapeXml(opts.subtitle)}</p>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(opts.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeXml(opts.title)}</h1>${subtitle}
</header>
<main>
${sections}
</main>
</body>
</html>
`;
}
