// Bundles the dashboard page (src/dashboard/page) into dist/dashboard/page: one minified script
// with Preact and htm inside, its HTML and CSS. Nothing is loaded from elsewhere at run time.
import { copyFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';

const src = 'src/dashboard/page';
const out = 'dist/dashboard/page';
mkdirSync(out, { recursive: true });
await build({ entryPoints: [`${src}/app.ts`], bundle: true, minify: true, format: 'esm', target: 'es2022', platform: 'browser', outfile: `${out}/app.js`, logLevel: 'warning' });
for (const f of ['index.html', 'style.css']) copyFileSync(`${src}/${f}`, `${out}/${f}`);
