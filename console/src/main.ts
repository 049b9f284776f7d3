/** The console's entry: routes by the URL hash (`#/calls`, `#/call/<sid>`, `#/live`, …) and draws the page. */
import { callPage, callsPage, dialPage, livePage, numbersPage, overviewPage } from './pages.js';

const main = document.getElementById('main')!;
let leave: (() => void) | null = null;

async function route(): Promise<void> {
  leave?.();
  leave = null;
  const hash = location.hash.replace(/^#\/?/, '') || 'calls';
  const [pathPart = '', queryPart = ''] = hash.split('?');
  const [name, arg] = pathPart.split('/');
  const params = new URLSearchParams(queryPart);
  let content: HTMLElement;
  switch (name) {
    case 'call':
      content = await callPage(decodeURIComponent(arg ?? ''));
      break;
    case 'live':
      content = livePage((close) => (leave = close));
      break;
    case 'numbers':
      content = await numbersPage();
      break;
    case 'dial':
      content = dialPage();
      break;
    case 'overview':
      content = await overviewPage();
      break;
    default:
      content = await callsPage(params);
  }
  main.replaceChildren(content);
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a'))
    if (a.getAttribute('href') === `#/${name === 'call' ? 'calls' : (name ?? 'calls')}`)
      a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  document.body.dataset['page'] = name ?? 'calls';
  main.focus();
}

window.addEventListener('hashchange', () => void route());
void route();
