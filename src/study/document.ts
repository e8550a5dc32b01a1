/**
 * A tiny document model so the report is written once and rendered twice: as Markdown
 * (figures linked, best cells in `<ins>`) and as a self-contained HTML page (SVG figures
 * inlined, best cells in `<u>`). Self-contained because the artifact store keeps each file
 * under its own digest, so relative links from report.html would not resolve there.
 */

/** A table cell; `best` is underlined (the paper's Table 2 convention). */
export interface Cell {
  text: string;
  best?: boolean;
}

/** One block of the report. */
export type Block =
  | { type: 'heading'; level: 1 | 2 | 3; text: string }
  | { type: 'paragraph'; text: string }
  | { type: 'list'; items: string[] }
  | { type: 'table'; header: string[]; rows: Array<Array<Cell | string>>; caption?: string }
  /** `svg` is the figure file name under figures/; `svgText` its content for inlining; `png` its raster twin. */
  | { type: 'figure'; svg: string; png: string; svgText: string; caption: string };

const cellOf = (c: Cell | string): Cell => (typeof c === 'string' ? { text: c } : c);

/** Table cells and headings: user text (titles, names) must not open an HTML tag in report.md (`<` and `&` escaped). */
function mdEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Render blocks as GitHub-flavoured Markdown. */
export function toMarkdown(blocks: readonly Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 'heading':
        out.push(`${'#'.repeat(b.level)} ${mdEscape(b.text)}`, '');
        break;
      case 'paragraph':
        out.push(b.text, '');
        break;
      case 'list':
        out.push(...b.items.map((i) => `- ${i}`), '');
        break;
      case 'table': {
        if (b.caption) out.push(`*${b.caption}*`, '');
        out.push(`| ${b.header.map(mdEscape).join(' | ')} |`, `|${b.header.map(() => '---').join('|')}|`);
        for (const row of b.rows) {
          out.push(`| ${row.map((c) => { const x = cellOf(c); return x.best ? `<ins>${mdEscape(x.text)}</ins>` : mdEscape(x.text); }).join(' | ')} |`);
        }
        out.push('');
        break;
      }
      case 'figure':
        out.push(`![${b.caption}](figures/${b.svg})`, '', `*${b.caption}* ([PNG](figures/${b.png}))`, '');
        break;
      default: {
        const never: never = b;
        throw new Error(`unknown block ${JSON.stringify(never)}`);
      }
    }
  }
  return out.join('\n');
}

/** Escape text for HTML element content and attribute values. */
export function htmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function inlineSvg(svg: string): string {
  // Drop an XML prolog if any; the <svg> element itself is valid inside HTML5.
  return svg.replace(/^<\?xml[^>]*>\s*/, '');
}

/** Render blocks as one self-contained HTML page. */
export function toHtml(blocks: readonly Block[], title: string): string {
  const body: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 'heading':
        body.push(`<h${b.level}>${htmlEscape(b.text)}</h${b.level}>`);
        break;
      case 'paragraph':
        body.push(`<p>${htmlEscape(b.text)}</p>`);
        break;
      case 'list':
        body.push(`<ul>${b.items.map((i) => `<li>${htmlEscape(i)}</li>`).join('')}</ul>`);
        break;
      case 'table': {
        const head = `<tr>${b.header.map((h) => `<th>${htmlEscape(h)}</th>`).join('')}</tr>`;
        const rows = b.rows
          .map((r) => `<tr>${r.map((c) => { const x = cellOf(c); const t = htmlEscape(x.text); return `<td>${x.best ? `<u>${t}</u>` : t}</td>`; }).join('')}</tr>`)
          .join('\n');
        const cap = b.caption ? `<caption>${htmlEscape(b.caption)}</caption>` : '';
        body.push(`<table>${cap}\n<thead>${head}</thead>\n<tbody>\n${rows}\n</tbody></table>`);
        break;
      }
      case 'figure':
        body.push(
          `<figure>${inlineSvg(b.svgText)}<figcaption>${htmlEscape(b.caption)} (files: figures/${htmlEscape(b.svg)}, figures/${htmlEscape(b.png)})</figcaption></figure>`,
        );
        break;
      default: {
        const never: never = b;
        throw new Error(`unknown block ${JSON.stringify(never)}`);
      }
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${htmlEscape(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}caption{text-align:left;font-style:italic;padding:.25rem 0}
figure{margin:1.5rem 0}figure svg{max-width:100%;height:auto}figcaption{font-style:italic;color:#555}
</style></head>
<body>
${body.join('\n')}
</body></html>
`;
}
