// The page: draws what the server sends and sends it the clicks; the server judges every move.
const SIZE = 64, LABELS = 24, RUN_MS = 15000, NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
let info = null, game = null;

async function api(path, body) {
  const options = body === undefined ? {} : {method: "POST", body: JSON.stringify(body),
                                             headers: {"Content-Type": "application/json"}};
  const response = await fetch(path, options);
  const data = await response.json()  // uvicorn's own refusals (a 503) are text
    .catch(() => ({error: `${response.status} ${response.statusText}`}));
  if (!response.ok) throw new Error(data.error);
  return data;
}

async function act(path, body) {
  if (document.body.dataset.busy === "true") return;
  document.body.dataset.busy = "true";
  $("message").textContent = "";
  try {
    game = await api(path, body);
    history.replaceState(null, "", `#${game.id}`);  // a reload finds the game again
  } catch (error) {
    $("message").textContent = error.message;
  }
  if (game) draw();
  document.body.dataset.busy = "false";
}

function shape(tag, attributes, parent) {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  parent.appendChild(element);
  return element;
}

// The rectangle a move shows on: its cell (placed by the server), its column, or none (a button).
function area(index) {
  const cell = info.cells[index];
  if (cell) return {x: cell[1] * SIZE, y: cell[0] * SIZE, w: SIZE, h: SIZE};
  if (info.layout === "columns" && index < info.cols)
    return {x: index * SIZE, y: 0, w: SIZE, h: info.rows * SIZE};
  return null;
}

function shares() {
  const moves = game.engine ? game.engine.moves : [];
  const total = moves.reduce((sum, m) => sum + m.visits, 0);
  return new Map(moves.map((m) => [m.move, total ? m.visits / total : m.prior]));
}

function draw() {
  const svg = $("board");
  svg.replaceChildren();
  svg.setAttribute("width", info.cols * SIZE);
  svg.setAttribute("height", info.rows * SIZE + LABELS);
  shape("rect", {class: "cell", width: info.cols * SIZE, height: info.rows * SIZE}, svg);
  // Coordinates: a row's number in its first cell's corner, clear of the stone; a column's
  // letters in the strip under the board (a cell layout's heat shares are inside the cells).
  info.labels.rows.forEach((text, r) => {
    shape("text", {class: "row-label", x: 3, y: r * SIZE + 12}, svg).textContent = text;
  });
  info.labels.cols.forEach((text, c) => {
    shape("text", {x: c * SIZE + SIZE / 2, y: info.rows * SIZE + 16}, svg).textContent = text;
  });
  const heat = shares();
  info.moves.forEach((move, index) => {
    const box = area(index);
    if (box && heat.has(move))
      shape("rect", {class: "heat", x: box.x, y: box.y, width: box.w, height: box.h,
                     opacity: 0.15 + 0.8 * heat.get(move)}, svg);
  });
  game.board.forEach((row, r) => row.forEach((stone, c) => {
    shape("circle", {class: stone || "empty", cx: c * SIZE + SIZE / 2, cy: r * SIZE + SIZE / 2,
                     r: SIZE * 0.4}, svg);
  }));
  info.moves.forEach((move, index) => {
    const box = area(index);
    if (!box) return;
    if (heat.has(move)) {  // a column's share under it, a cell's inside it
      const y = info.layout === "columns" ? box.h + 16 : box.y + SIZE / 2 + 5;
      const label = shape("text", {x: box.x + SIZE / 2, y}, svg);
      label.textContent = `${Math.round(100 * heat.get(move))}%`;
    }
    const target = shape("rect", {class: "target", x: box.x, y: box.y, width: box.w, height: box.h,
                                  "data-move": move, "data-legal": game.legal.includes(move)}, svg);
    target.addEventListener("click", () => play(move));
  });
  const off = game.legal.filter((move) => !area(info.moves.indexOf(move)));
  $("buttons").replaceChildren(...off.map((move) => {
    const button = document.createElement("button");
    button.textContent = move;
    button.addEventListener("click", () => play(move));
    return button;
  }));
  $("status").textContent = game.result ||
    (game.to_move === game.human ? `You are ${game.human}: your move` : `${game.to_move} to move`);
  $("engine").textContent = game.engine ? describe(game.engine) : "";
}

function describe(view) {
  const total = view.moves.reduce((sum, m) => sum + m.visits, 0);
  const chosen = view.moves.find((m) => m.move === view.move);
  const searched = total ? `${chosen.visits}/${total} visits`
                         : `raw policy, prior ${chosen.prior.toFixed(2)}`;
  const proof = view.proven ? `, proven ${view.proven}` : "";
  const value = (view.value >= 0 ? "+" : "") + view.value.toFixed(2);
  return `Engine played ${view.move}: value ${value} for the engine, ${searched}${proof}` +
         (info.layout === "buttons" ? "" : " (the heat map: its search's visits)");
}

function play(move) {
  act(`/api/games/${game.id}/move`, {move});
}

function start() {
  const generation = info.run && $("generation").value ? Number($("generation").value) : null;
  act("/api/games", {game: info.game, side: $("side").value, generation,
                     simulations: Number($("simulations").value)});
}

// A run's curves and generations, read again every RUN_MS (it may be training).
async function showRun() {
  try {
    const run = await api("/api/run");
    const select = $("generation"), chosen = select.value;
    select.replaceChildren(new Option("best", ""),
                           ...run.generations.map((g) => new Option(`generation ${g}`, g)));
    select.value = run.generations.includes(Number(chosen)) ? chosen : "";
    $("curves").replaceChildren(...Object.entries(run.series).map(
      ([name, values]) => chart(name, run.generation, values)));
  } catch (error) {
    $("message").textContent = error.message;
  }
}

function chart(name, xs, ys) {
  const W = 220, H = 90;
  const points = xs.map((x, i) => [x, ys[i]]).filter(([, y]) => y !== null);
  const figure = document.createElement("figure");
  const svg = shape("svg", {width: W, height: H, class: "chart"}, figure);
  const caption = document.createElement("figcaption");
  const last = points.length ? Number(points[points.length - 1][1].toPrecision(3)) : "-";
  caption.textContent = `${name}: ${last}`;
  figure.appendChild(caption);
  if (!points.length) return figure;
  const [x0, x1] = [points[0][0], points[points.length - 1][0]];
  const values = points.map(([, y]) => y), y0 = Math.min(...values), y1 = Math.max(...values);
  const sx = (x) => 4 + (W - 8) * (x - x0) / ((x1 - x0) || 1);
  const sy = (y) => H - 4 - (H - 8) * (y - y0) / ((y1 - y0) || 1);
  shape("polyline", {points: points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ")}, svg);
  points.forEach(([x, y]) => shape("circle", {cx: sx(x), cy: sy(y), r: 2}, svg));
  return figure;
}

async function main() {
  info = await api("/api/game");
  $("game").textContent = info.game;
  for (const n of info.simulations) {
    const label = n === 0 ? "0 (raw policy)" : n;
    const option = new Option(label, n, false, n === info.default_simulations);
    $("simulations").appendChild(option);
  }
  $("new").addEventListener("click", start);
  $("undo").addEventListener("click", () => act(`/api/games/${game.id}/undo`, {}));
  if (info.run) {
    $("run").hidden = false;
    await showRun();
    setInterval(showRun, RUN_MS);
  }
  document.body.dataset.busy = "false";
  if (location.hash.length > 1) await act(`/api/games/${location.hash.slice(1)}`);
  if (!game) start();
}

main();
