// Faces for the five satisfaction levels, drawn as small inline SVG (no image files: a few
// hundred bytes instead of five pictures, sharp at any size, and allowed by the CSP).

const SVG = 'http://www.w3.org/2000/svg';
// Red to green, dark enough for a white outline and black features to show on each.
const COLOURS = ['#c62828', '#ef6c00', '#f9a825', '#7cb342', '#2e7d32'];
// How far the mouth's middle sits below (+) or above (−) its corners.
const SMILE = [-9, -5, 0, 6, 11];

function node(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

/** The face for level 1 (very dissatisfied) … 5 (very satisfied) of a 5-level scale. */
export function face(level) {
  const i = Math.min(Math.max(level, 1), 5) - 1;
  const svg = node('svg', { viewBox: '0 0 64 64', class: 'face', 'aria-hidden': 'true', focusable: 'false' });
  svg.append(
    node('circle', { cx: 32, cy: 32, r: 29, fill: COLOURS[i], stroke: '#1b1b1b', 'stroke-width': 2 }),
    node('circle', { cx: 22, cy: 25, r: 4, fill: '#1b1b1b' }),
    node('circle', { cx: 42, cy: 25, r: 4, fill: '#1b1b1b' }),
    node('path', {
      d: `M18 ${44 - SMILE[i] / 2} Q32 ${44 + SMILE[i] * 1.5} 46 ${44 - SMILE[i] / 2}`,
      fill: 'none',
      stroke: '#1b1b1b',
      'stroke-width': 4,
      'stroke-linecap': 'round',
    }),
  );
  return svg;
}
