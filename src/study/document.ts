/**
 * A tiny document model so the report is written once and rendered twice: as Markdown
 * (figures linked, best cells in `<ins>`) and as an HTML page (SVG figures inlined, best
 * cells in `<u>`). Figures are inlined so the page shows them wherever it is opened; the
 * links to the figure files and tables are relative to the report folder (figures/,
 * tables/), which `dag export` writes out whole.
 *
 * Text may mark a superscript with a caret, `ImageNet^FT`: both renderers turn it into
 * `<sup>FT</sup>` (which GitHub Markdown and every browser show as a superscript), so no
 * literal caret reaches the reader.
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
  /** A highlighted paragraph (what data the run used, caveats of a comparison). */
  | { type: 'note'; title: string; items: string[] }
  /** A list of links to files of the report folder. */
  | { type: 'links'; items: Array<{ href: string; text: string }> }
  /** `left`: columns (by index) of text, left-aligned in HTML (numbers are right-aligned). */
  | { type: 'table'; header: string[]; rows: Array<Array<Cell | string>>; caption?: string; left?: number[] }
  /** `svg` is the figure file name under figures/; `svgText` its content for inlining; `png` its raster twin. */
  | { type: 'figure'; svg: string; png: string; svgText: string; caption: string };

const cellOf = (c: Cell | string): Cell => (typeof c === 'string' ? { text: c } : c);

/** `X^FT` -> `X<sup>FT</sup>` on already-escaped text (the caret marks a superscript word). */
function superscripts(escaped: string): string {
  return escaped.replace(/\^([A-Za-z0-9]+)/g, '<sup>$1</sup>');
}

function mdEscape(text: string): string {
  return superscripts(text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\|/g, '\\|').replace(/\n/g, ' '));
}

/** A relative link target with spaces and brackets made safe for Markdown. */
function mdHref(href: string): string {
  return href.replace(/ /g, '%20').replace(/\(/g, '%28').replace(/\)/g, '%29');
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
        out.push(mdEscape(b.text), '');
        break;
      case 'list':
        out.push(...b.items.map((i) => `- ${mdEscape(i)}`), '');
        break;
      case 'note':
        out.push(`> **${mdEscape(b.title)}**`, ...b.items.flatMap((i) => ['>', `> ${mdEscape(i)}`]), '');
        break;
      case 'links':
        out.push(...b.items.map((l) => `- [${mdEscape(l.text)}](${mdHref(l.href)})`), '');
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
        out.push(`![${mdEscape(b.caption).replace(/<\/?sup>/g, '')}](figures/${mdHref(b.svg)})`, '', `*${mdEscape(b.caption)}* ([SVG](figures/${mdHref(b.svg)}), [PNG](figures/${mdHref(b.png)}))`, '');
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

/** Escaped text with `^X` superscripts rendered. */
function htmlText(text: string): string {
  return superscripts(htmlEscape(text));
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
        body.push(`<h${b.level}>${htmlText(b.text)}</h${b.level}>`);
        break;
      case 'paragraph':
        body.push(`<p>${htmlText(b.text)}</p>`);
        break;
      case 'list':
        body.push(`<ul>${b.items.map((i) => `<li>${htmlText(i)}</li>`).join('')}</ul>`);
        break;
      case 'note':
        body.push(`<div class="note"><strong>${htmlText(b.title)}</strong>${b.items.map((i) => `<p>${htmlText(i)}</p>`).join('')}</div>`);
        break;
      case 'links':
        body.push(`<ul class="files">${b.items.map((l) => `<li><a href="${htmlEscape(encodeURI(l.href))}">${htmlText(l.text)}</a></li>`).join('')}</ul>`);
        break;
      case 'table': {
        const cls = (k: number): string => (b.left?.includes(k) ? ' class="text"' : '');
        const head = `<tr>${b.header.map((h, k) => `<th${cls(k)}>${htmlText(h)}</th>`).join('')}</tr>`;
        const rows = b.rows
          .map((r) => `<tr>${r.map((c, k) => { const x = cellOf(c); const t = htmlText(x.text); return `<td${cls(k)}>${x.best ? `<u>${t}</u>` : t}</td>`; }).join('')}</tr>`)
          .join('\n');
        const cap = b.caption ? `<caption>${htmlText(b.caption)}</caption>` : '';
        body.push(`<table>${cap}\n<thead>${head}</thead>\n<tbody>\n${rows}\n</tbody></table>`);
        break;
      }
      case 'figure':
        body.push(
          `<figure>${inlineSvg(b.svgText)}<figcaption>${htmlText(b.caption)} (<a href="figures/${htmlEscape(encodeURI(b.svg))}">SVG</a>, <a href="figures/${htmlEscape(encodeURI(b.png))}">PNG</a>)</figcaption></figure>`,
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
.note{border-left:4px solid #c44e52;background:#fbf3f3;padding:.5rem 1rem;margin:1rem 0}.note p{margin:.4rem 0}
td{vertical-align:top}td.text,th.text{text-align:left}
</style></head>
<body>
${body.join('\n')}
</body></html>
`;
}
