// A Plotly chart that stays one element and is updated in place with Plotly.react.
//
// Streamlit calls the default export again, with the same parentElement, whenever the data it
// was given or the app's theme changes; the chart's div is made once per element and kept.
// data: {figure: the figure's JSON (Streamlit's plotly template, its placeholder colours
// #000001-#000040 included), config: plotly.js's config, label: the chart's accessible name,
// plotly: the URL of plotly.min.js}.

const LOADING = "__dilatePlotlyLoading";

// plotly.js is loaded once per page, as a classic script that defines window.Plotly.
function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window[LOADING]) {
    window[LOADING] = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = () =>
        window.Plotly ? resolve(window.Plotly) : reject(new Error(`${url} defined no Plotly`));
      script.onerror = () => {
        window[LOADING] = null; // the next chart tries again
        reject(new Error(`plotly.js could not be loaded from ${url}`));
      };
      document.head.appendChild(script);
    });
  }
  return window[LOADING];
}

// Streamlit's base theme colours that its theme element does not pass on as CSS variables
// (the values of its front end's palette, chosen there by the background's lightness).
const LIGHT = {
  increasing: "#29b09d", decreasing: "#ff2b2b", total: "#0068c9", grid: "#e6eaf1",
  axisText: "#808495", legendText: "#262730", faded: "rgba(49, 51, 63, 0.1)", mix: "#f8f9fb",
};
const DARK = {
  increasing: "#7defa1", decreasing: "#ffabab", total: "#83c9ff", grid: "#31333F",
  axisText: "#e6eaf1", legendText: "#fafafa", faded: "rgba(250, 250, 250, 0.1)", mix: "#1a1c24",
};

function isLight(colour) {
  const probe = document.createElement("canvas").getContext("2d");
  probe.fillStyle = colour || "#ffffff";
  const hex = probe.fillStyle; // normalised to #rrggbb (or rgba(...) when translucent)
  const [r, g, b] = hex.startsWith("#")
    ? [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
    : hex.match(/[\d.]+/g).slice(0, 3).map(Number);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 127.5;
}

// The app's theme as the CSS variables Streamlit sets around a component, with the palette above.
function readTheme(element) {
  const style = getComputedStyle(element);
  const get = (name) => style.getPropertyValue(`--st-${name}`).trim();
  const list = (name) => get(name).split(",").map((s) => s.trim()).filter(Boolean);
  const background = get("background-color") || "#ffffff";
  return {
    background,
    border: get("border-color") || "rgba(49, 51, 63, 0.2)",
    font: get("font") || "sans-serif",
    headingFont: get("heading-font") || get("font") || "sans-serif",
    heading: get("heading-color") || get("text-color"),
    text: get("text-color"),
    categorical: list("chart-categorical-colors"),
    sequential: list("chart-sequential-colors"),
    diverging: list("chart-diverging-colors"),
    ...(isLight(background) ? LIGHT : DARK),
  };
}

// The placeholders of Streamlit's plotly template, replaced as its own plotly chart replaces them.
function replacePlaceholders(json, theme) {
  const code = (n) => `#0000${String(n).padStart(2, "0")}`;
  const swaps = [];
  for (let i = 0; i < 10; i++) {
    swaps.push([code(i + 1), theme.categorical[i]]);
    swaps.push([code(i + 11), theme.sequential[i]]);
    swaps.push([code(i + 21), theme.diverging[i]]);
  }
  swaps.push(
    [code(32), theme.increasing], [code(33), theme.decreasing], [code(34), theme.total],
    [code(35), theme.grid], [code(36), theme.axisText], [code(37), theme.legendText],
    [code(38), theme.background], [code(39), theme.faded], [code(40), theme.mix],
  );
  for (const [from, to] of swaps) if (to) json = json.replaceAll(from, to);
  return json;
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function merge(into, from) {
  for (const [key, value] of Object.entries(from)) {
    if (isObject(value) && isObject(into[key])) merge(into[key], value);
    else into[key] = value;
  }
  return into;
}

// What Streamlit's theme adds to the template's layout (its own plotly chart does the same):
// the figure's own layout still wins over it.
function themeLayout(theme) {
  const axisTitle = { font: { color: theme.axisText, size: 14 } };
  const tickfont = { color: theme.axisText, size: 12 };
  return {
    font: { color: theme.axisText, family: theme.font, size: 12 },
    title: { font: { family: theme.headingFont, size: 16, color: theme.heading }, xanchor: "left", x: 0 },
    legend: { title: { font: { size: 12, color: theme.axisText }, side: "top" }, valign: "top",
      bordercolor: "rgba(0, 0, 0, 0)", borderwidth: 0, font: { size: 12, color: theme.legendText } },
    paper_bgcolor: theme.background,
    plot_bgcolor: theme.background,
    yaxis: { ticklabelposition: "outside", zerolinecolor: theme.grid, gridcolor: theme.grid,
      tickcolor: theme.grid, tickfont, title: { ...axisTitle, standoff: 24 }, automargin: true },
    xaxis: { zerolinecolor: theme.grid, gridcolor: theme.grid, showgrid: false, tickcolor: theme.grid,
      tickfont, title: { ...axisTitle, standoff: 20 }, zeroline: false, automargin: true },
    margin: { pad: 8, r: 0, l: 0 },
    hoverlabel: { bgcolor: theme.background, bordercolor: theme.border,
      font: { color: theme.axisText, family: theme.font, size: 12 } },
    coloraxis: { colorbar: { tickfont, title: axisTitle } },
  };
}

function figureFor(data, theme) {
  const figure = JSON.parse(replacePlaceholders(data.figure, theme));
  const layout = (figure.layout = figure.layout || {});
  layout.template = layout.template || {};
  layout.template.layout = merge(layout.template.layout || {}, themeLayout(theme));
  delete layout.width; // the chart takes its column's width, as st.plotly_chart does
  layout.autosize = true;
  return figure;
}

export default function (component) {
  const { data, parentElement } = component;
  let chart = parentElement.__plotlyReact;
  if (!chart) {
    const div = document.createElement("div");
    div.className = "stPlotlyReact";
    div.dataset.testid = "stPlotlyReact";
    div.setAttribute("role", "img");
    div.style.width = "100%";
    parentElement.appendChild(div);
    const resized = new ResizeObserver(() => {
      if (window.Plotly && div._fullLayout) window.Plotly.Plots.resize(div);
    });
    resized.observe(parentElement);
    chart = parentElement.__plotlyReact = { div, resized, drawn: null, asked: 0 };
  }
  const theme = readTheme(parentElement);
  const drawing = JSON.stringify([data.figure, data.config, theme]);
  if (drawing === chart.drawn) return cleanup(parentElement); // nothing changed: not drawn again
  const figure = figureFor(data, theme);
  const asked = ++chart.asked;
  chart.div.setAttribute("aria-label", data.label || "chart");
  chart.div.style.height = `${figure.layout.height || 450}px`;
  loadPlotly(data.plotly)
    .then((Plotly) => {
      if (asked !== chart.asked) return; // a newer figure came while plotly.js loaded
      chart.drawn = drawing;
      return Plotly.react(chart.div, figure.data || [], figure.layout, { ...data.config, responsive: false });
    })
    .catch((error) => {
      chart.div.textContent = `This chart could not be drawn: ${error.message}`;
    });
  return cleanup(parentElement);
}

// Called when the element leaves the page: the chart's listeners and plotly's state go with it.
// Streamlit also calls it when a newer figure arrived before this one was handed over; the
// element is still on the page then, and the chart stays.
function cleanup(parentElement) {
  return () =>
    setTimeout(() => {
      const chart = parentElement.__plotlyReact;
      if (!chart || parentElement.isConnected) return;
      chart.resized.disconnect();
      if (window.Plotly) window.Plotly.purge(chart.div);
      chart.div.remove();
      delete parentElement.__plotlyReact;
    });
}
