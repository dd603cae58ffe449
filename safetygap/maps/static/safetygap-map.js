/*
 * safetygap map pages: fill a Leaflet map (drawn by Folium) with data fetched from the
 * safetygap API, so the page itself stays small, and add the controls: one options panel
 * (service family, year, neighborhoods or wards, what to show) that folds into a single
 * button on a phone, the legend, a status line and a notice when base-map tiles fail.
 *
 * The view (family, year, level, selected area, hexagons, zoom and centre) is kept in the
 * address bar: a copied link reproduces it and the back button steps through it.
 *
 * Every string that comes from the data (area and provider names, ids, service types)
 * goes through esc() before it reaches HTML, or is set as text; nothing from the data is
 * ever evaluated. Labels, units and decimals come from the page's configuration
 * (safetygap/labels.py), the same table the server-drawn pages use.
 */
(function () {
  "use strict";

  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  var PHONE = "(max-width: 600px)";

  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return ESC[c];
    });
  }

  function finite(v) {
    return v !== null && v !== undefined && v !== "" && isFinite(v);
  }

  // ------------------------------------------------------------- numbers and words

  var LABELS = { fields: {}, families: {}, services: {}, distance: {}, classes: {},
    percentDigits: 1 };

  function num(v, digits) {
    if (!finite(v)) return "–";
    digits = digits || 0;
    var text = Number(v).toLocaleString("en-US", {
      minimumFractionDigits: digits, maximumFractionDigits: digits,
    });
    return /^-[0.,]*$/.test(text) ? text.slice(1) : text;
  }

  function pct(v, digits) {
    return finite(v) ? num(100 * v, digits === undefined ? LABELS.percentDigits : digits) + "%"
      : "–";
  }

  function field(m) {
    return LABELS.fields[m] || { label: m.replace(/_/g, " "), unit: "", digits: 0,
      percent: false };
  }

  // a measure's value as people read it (the label table's digits; percentages)
  function fmt(m, v, withUnit) {
    var f = field(m);
    if (f.percent) return pct(v);
    var text = num(v, f.digits);
    return withUnit && f.unit && text !== "–" ? text + " " + f.unit : text;
  }

  function serviceLabel(s) {
    return LABELS.services[s] || String(s || "").replace(/_/g, " ");
  }

  function familyLabel(f) {
    return LABELS.families[f] || f;
  }

  // a catchment or distance in the analysis' unit: "1,200 m", "3 km", "15 min walking"
  function distanceText(v, unit, model) {
    if (!finite(v)) return "–";
    v = Number(v);
    if (unit === "min") {
      return num(v, v === Math.round(v) ? 0 : 1) + " min " +
        (model === "network-drive" ? "driving" : "walking");
    }
    if (v >= 1000) {
      var km = v / 1000;
      return num(km, km === Math.round(km) ? 0 : 1) + " km";
    }
    return num(v, 0) + " m";
  }

  function reachText(p) {
    if (!finite(p.catchment)) return "–";
    var how = p.catchment_unit === "min" ? " on the street network" : " straight-line";
    return distanceText(p.catchment, p.catchment_unit, p.distance_model) + how;
  }

  function withQuery(base, params) {
    var q = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v !== null && v !== undefined && v !== "") {
        q.push(encodeURIComponent(k) + "=" + encodeURIComponent(v));
      }
    });
    return base + (q.length ? "?" + q.join("&") : "");
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(url + " answered HTTP " + r.status);
      return r.json();
    });
  }

  // fill colour of a need/access class (1..9; 0 or missing: not ranked)
  function classColor(cfg, cls) {
    return (cls && cfg.bivariate[cls]) || cfg.notRankedColor;
  }

  // " (95%: 1.2–3.4)" for a measure with interval bounds in the properties
  function ciText(p, m, family) {
    var lo = p[m + "_" + family + "_ci_low"], hi = p[m + "_" + family + "_ci_high"];
    if (!finite(lo) || !finite(hi)) return "";
    return " (95%: " + fmt(m, lo) + "–" + fmt(m, hi) + ")";
  }

  function rankText(p, family) {
    var r = p["underserved_rank_" + family];
    if (!finite(r)) return "not ranked";
    var lo = p["rank_low_" + family], hi = p["rank_high_" + family];
    return num(r, 0) + (finite(lo) && finite(hi) && lo !== hi ?
      " (90% of resamples: " + num(lo, 0) + "–" + num(hi, 0) + ")" : "");
  }

  function el(tag, cls, parent, text) {
    var e = L.DomUtil.create(tag, cls || "", parent);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // a provider marker: the family's colour and shape (disc, square, diamond) and icon
  function pinHTML(d, small) {
    return "<span class='sg-pin sg-shape-" + esc(d.shape) + (small ? " sg-pin-small" : "") +
      "' style='background:" + esc(d.color) + "'><i class='fa-solid " + esc(d.icon) +
      "' aria-hidden='true'></i></span>";
  }

  // ------------------------------------------------------------- URL state

  function readURL() {
    var q = new URLSearchParams(window.location.search);
    var out = {};
    ["family", "level", "year", "area", "z", "lat", "lng", "hex"].forEach(function (k) {
      if (q.has(k)) out[k] = q.get(k);
    });
    return out;
  }

  // ------------------------------------------------------------------ controls

  var StatusControl = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function () {
      this._div = L.DomUtil.create("div", "sg-status");
      this._div.setAttribute("role", "status");
      this._div.style.display = "none";
      return this._div;
    },
    show: function (text) {
      this._div.textContent = text;
      this._div.className = "sg-status";
      this._div.style.display = "";
    },
    error: function (err) {
      this._div.textContent = "could not load a layer: " + (err && err.message ? err.message : err);
      this._div.className = "sg-status sg-error";
      this._div.style.display = "";
    },
    clear: function () {
      this._div.style.display = "none";
    },
  });

  // the legend's own place on a large screen; on a phone the legend moves into the options
  var LegendSlot = L.Control.extend({
    options: { position: "bottomright" },
    onAdd: function () {
      this._div = L.DomUtil.create("div", "sg-legend-slot");
      L.DomEvent.disableClickPropagation(this._div);
      L.DomEvent.disableScrollPropagation(this._div);
      return this._div;
    },
  });

  // the options panel: one button that opens or folds it
  var OptionsControl = L.Control.extend({
    options: { position: "topright" },
    initialize: function (build) {
      this._build = build;
    },
    onAdd: function () {
      var div = L.DomUtil.create("div", "sg-options");
      var button = el("button", "sg-options-toggle", div);
      button.type = "button";
      button.id = "sg-options-toggle";
      button.setAttribute("aria-controls", "sg-options-body");
      button.innerHTML = "<i class='fa-solid fa-layer-group' aria-hidden='true'></i> " +
        "Map options<span class='sg-phone-only'> and legend</span>";
      var body = el("div", "sg-options-body", div);
      body.id = "sg-options-body";
      this._div = div;
      this._button = button;
      this._body = body;
      this._build(body);
      var self = this;
      L.DomEvent.on(button, "click", function () { self.setOpen(!self.open); });
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    },
    setOpen: function (open) {
      this.open = open;
      this._button.setAttribute("aria-expanded", open ? "true" : "false");
      L.DomUtil[open ? "addClass" : "removeClass"](this._div, "sg-open");
      if (this._map) {
        L.DomUtil[open ? "addClass" : "removeClass"](this._map.getContainer(),
          "sg-options-open");
      }
    },
  });

  // ----------------------------------------------------------------------- popups

  function areaPopup(cfg, p, family, level) {
    var rows = ["rate_eb", "rate", "access", "access_need", "reach", "coverage",
      "diverted_share", "providers", "calls", "gap"];
    var label = p["class_label_" + family];
    var html = "<div class='sg-popup'><h2>" + esc(p.name) + "</h2><div class='sg-popup-sub'>" +
      esc(familyLabel(family)) + " services · " +
      (level === "ward" ? "ward" : "neighborhood") + (cfg.year ? " · " + esc(cfg.year) : "") +
      "</div>";
    if (label) {
      html += "<p class='sg-popup-class'>" + esc(label) +
        (p["class_uncertain_" + family] === 1 ? " (uncertain: fewer than " +
          pct(cfg.uncertainBelow, 0) + " of resamples agree)" : "") + "</p>";
    }
    if (p.small_population === 1 || p.mostly_nonresident === 1) {
      html += "<p class='sg-popup-note'>Not ranked: " + (p.small_population === 1 ?
        "too few residents for a rate per resident" :
        "most of its calls come from people who do not live here") + ".</p>";
    }
    html += "<table><tr><th scope='row'>" + esc(field("underserved_rank").label) +
      "</th><td>" + esc(rankText(p, family)) + "</td></tr>";
    if (finite(p["p_top10_" + family])) {
      html += "<tr><th scope='row'>Chance of being among the 10 most underserved</th><td>" +
        esc(pct(p["p_top10_" + family], 0)) + "</td></tr>";
    }
    rows.forEach(function (m) {
      html += "<tr><th scope='row'>" + esc(field(m).label) + "</th><td>" +
        esc(fmt(m, p[m + "_" + family], m === "rate" || m === "rate_eb" || m === "access" ||
          m === "access_need") + ciText(p, m, family)) + "</td></tr>";
    });
    var hot = p["hotspot_need_" + family];
    if (finite(hot)) {
      html += "<tr><th scope='row'>Hot spot of need</th><td>" + (hot === 1 ?
        "yes: a cluster of high need" : hot === -1 ? "a cluster of low need" : "no") +
        "</td></tr>";
    }
    html += "<tr><th scope='row'>" + esc(field("population").label) + "</th><td>" +
      esc(fmt("population", p.population)) + "</td></tr></table><div class='sg-popup-links'>";
    var id = encodeURIComponent(p.area_id);
    var page = cfg.pages.area[level];
    html += "<a href='" + esc(page + id) + "'>About this " + (level === "ward" ? "ward" :
      "neighborhood") + "</a>";
    if (level === "ward") {
      html += " · <a href='" + esc(cfg.pages.ward + id) + "'>ward map</a>";
    }
    return html + "</div></div>";
  }

  function providerPopup(cfg, p) {
    var fam = cfg.families[p.family];
    return "<div class='sg-popup'><h2>" + esc(p.name) + "</h2><div class='sg-popup-sub'>" +
      esc(fam ? fam.label : p.family) + " provider</div><table>" +
      "<tr><th scope='row'>service</th><td>" + esc(serviceLabel(p.service_type)) + "</td></tr>" +
      (p.address ? "<tr><th scope='row'>address</th><td>" + esc(p.address) + "</td></tr>" : "") +
      "<tr><th scope='row'>capacity</th><td>" + esc(num(p.capacity, 1)) + "</td></tr>" +
      "<tr><th scope='row'>reach</th><td>" +
      esc(p.serves_areas ? "serves " + p.serves : reachText(p)) + "</td></tr>" +
      (p.opening_hours ? "<tr><th scope='row'>hours</th><td>" + esc(p.opening_hours) +
        "</td></tr>" : "") +
      (p.phone ? "<tr><th scope='row'>phone</th><td>" + esc(p.phone) + "</td></tr>" : "") +
      (p.stale === null || p.stale === undefined ? "" :
        "<tr><th scope='row'>last verified</th><td>" + esc(p.last_verified || "never") +
        (p.stale ? " <strong class='sg-stale'>(stale: check it)</strong>" : "") +
        "</td></tr>") +
      "</table></div>";
  }

  function providerIcon(d, big) {
    var size = big ? 44 : 32;
    return L.divIcon({
      className: "sg-provider",
      html: pinHTML(d),
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2],
      popupAnchor: [0, -12],
      tooltipAnchor: [12, 0],
    });
  }

  function clusterIcon(d, big) {
    return function (cluster) {
      var n = cluster.getChildCount();
      var size = Math.max(big ? 44 : 30, n < 10 ? 30 : n < 100 ? 36 : 42);
      return L.divIcon({
        className: "sg-cluster",
        html: "<span class='sg-shape-" + esc(d.shape) + "' style='background:" + esc(d.color) +
          "'><b>" + n + "</b></span>",
        iconSize: [size, size],
      });
    };
  }

  // ------------------------------------------------------------------------ map

  function gapMap(layers, cfg) {
    var map = layers.map;
    LABELS = cfg.labels || LABELS;
    var container = map.getContainer();
    var phone = window.matchMedia(PHONE);
    var fromURL = readURL();
    var state = {
      family: cfg.families[fromURL.family] ? fromURL.family : cfg.family,
      level: cfg.levelToggle && (fromURL.level === "ward" || fromURL.level === "neighborhood")
        ? fromURL.level : cfg.level,
      year: cfg.years.indexOf(Number(fromURL.year)) >= 0 ? Number(fromURL.year) : cfg.year,
      area: fromURL.area || null,
      hex: fromURL.hex === "1",
    };
    cfg.year = state.year;
    var cache = {};
    var lastHex = null;
    var lastClasses = [];
    var lastFeatures = [];
    var extraLegend = "";
    var areaLayers = {};
    var overlays = [];
    var restoring = false;

    // panes: call hexagons under the areas and never catching a click; outlines and
    // ward labels over them, not catching clicks either
    var hexPane = map.createPane("sg-hex");
    hexPane.style.zIndex = 390;
    hexPane.style.pointerEvents = "none";
    var outlinePane = map.createPane("sg-outline");
    outlinePane.style.zIndex = 450;
    outlinePane.style.pointerEvents = "none";
    var labelPane = map.createPane("sg-labels");
    labelPane.style.zIndex = 460;
    labelPane.style.pointerEvents = "none";

    var areasGroup = L.featureGroup().addTo(map);
    var outline = L.featureGroup().addTo(map);
    var hexbins = L.featureGroup();
    var providers = {};
    cfg.familyOrder.forEach(function (f) {
      providers[f] = L.markerClusterGroup({
        showCoverageOnHover: false, maxClusterRadius: 45,
        disableClusteringAtZoom: cfg.clusterUntilZoom,
        iconCreateFunction: clusterIcon(cfg.families[f], phone.matches),
      }).addTo(map);
    });

    var status = new StatusControl().addTo(map);
    var legendSlot = new LegendSlot().addTo(map);
    var legend = el("div", "sg-legend");
    legend.id = "sg-legend";
    var familyInputs = {};
    var downloadLinks = [];
    var levelInputs = {};
    var yearSelect = null;
    var hexBox = null;

    function heading(parent, text) {
      return el("div", "sg-options-heading", parent, text);
    }

    function radio(parent, name, value, text, checked, onChange) {
      var label = el("label", "sg-choice", parent);
      var input = el("input", "", label);
      input.type = "radio";
      input.name = name;
      input.value = value;
      input.checked = checked;
      label.appendChild(document.createTextNode(" " + text));
      L.DomEvent.on(input, "change", function () { if (input.checked) onChange(value); });
      return input;
    }

    function checkbox(parent, html, checked, onChange) {
      var label = el("label", "sg-choice", parent);
      var input = el("input", "", label);
      input.type = "checkbox";
      input.checked = checked;
      var span = el("span", "", label);
      span.innerHTML = " " + html;
      L.DomEvent.on(input, "change", function () { onChange(input.checked); });
      return input;
    }

    var options = new OptionsControl(function (body) {
      var fs = el("fieldset", "sg-fieldset", body);
      el("legend", "", fs, "Services");
      cfg.familyOrder.forEach(function (f) {
        familyInputs[f] = radio(fs, "sg-family", f, cfg.families[f].label, f === state.family,
          function (v) { setState({ family: v }, true); });
      });
      var yl = el("label", "sg-choice sg-year", body);
      yl.appendChild(document.createTextNode("Year "));
      yearSelect = el("select", "", yl);
      yearSelect.name = "year";
      [""].concat(cfg.years).forEach(function (y) {
        var o = el("option", "", yearSelect, y === "" ? "All years" : String(y));
        o.value = String(y);
      });
      yearSelect.value = state.year ? String(state.year) : "";
      L.DomEvent.on(yearSelect, "change", function () {
        setState({ year: yearSelect.value ? Number(yearSelect.value) : null }, true);
      });
      if (cfg.levelToggle) {
        var lv = el("fieldset", "sg-fieldset", body);
        el("legend", "", lv, "Areas");
        [["neighborhood", "Neighborhoods"], ["ward", "Wards"]].forEach(function (o) {
          levelInputs[o[0]] = radio(lv, "sg-level", o[0], o[1], o[0] === state.level,
            function (v) { setState({ level: v }, true); });
        });
      }
      var show = el("fieldset", "sg-fieldset", body);
      el("legend", "", show, "Show");
      checkbox(show, cfg.ward ? "Ward outline" : "Ward outlines and numbers", true,
        function (on) { toggle(outline, on); });
      cfg.familyOrder.forEach(function (f) {
        var d = cfg.families[f];
        checkbox(show, pinHTML(d, true) + " " + esc(d.label) + " providers (" +
          esc(cfg.providerCounts[f] || 0) + ")", true,
          function (on) { toggle(providers[f], on); });
      });
      hexBox = checkbox(show, "<i class='sg-swatch sg-hex-swatch'></i> Calls (hexagons)",
        state.hex, function (on) { setState({ hex: on }, true); });
      el("div", "sg-overlays", show);
      var dl = el("div", "sg-download", body);
      dl.appendChild(document.createTextNode("Download these areas: "));
      ["csv", "geojson"].forEach(function (fmt) {
        var a = el("a", "", dl, fmt === "csv" ? "CSV" : "GeoJSON");
        a.setAttribute("download", "");
        a.setAttribute("data-format", fmt);
        downloadLinks.push(a);
      });
    }).addTo(map);
    options.setOpen(!phone.matches && cfg.optionsOpen);

    function toggle(layer, on) {
      if (on) map.addLayer(layer); else map.removeLayer(layer);
    }

    // the legend sits in its own corner on a large screen, inside the options on a phone
    function placeLegend() {
      var target = phone.matches ? options._body : legendSlot._div;
      if (legend.parentNode !== target) target.appendChild(legend);
      L.DomUtil[phone.matches ? "addClass" : "removeClass"](container, "sg-phone");
    }
    if (phone.addEventListener) phone.addEventListener("change", placeLegend);
    placeLegend();

    // a tile server that cannot be reached (offline, blocked): say so; the data still draws
    var tileNotice = null;
    map.eachLayer(function (layer) {
      if (!(layer instanceof L.TileLayer)) return;
      layer.on("tileerror", function () {
        if (tileNotice) return;
        tileNotice = L.control({ position: "bottomleft" });
        tileNotice.onAdd = function () {
          var d = L.DomUtil.create("div", "sg-status sg-tile-notice");
          d.setAttribute("role", "status");
          var text = el("span", "", d);
          text.textContent = phone.matches ? "No base map (offline?): the data is drawn " +
            "without it." : "The base map could not be loaded (no connection to the tile " +
            "server). The areas, providers and calls are drawn without it.";
          var close = el("button", "sg-notice-close", d);
          close.type = "button";
          close.setAttribute("aria-label", "close this notice");
          close.textContent = "×";
          L.DomEvent.on(close, "click", function () { tileNotice.remove(); });
          L.DomEvent.disableClickPropagation(d);
          return d;
        };
        tileNotice.addTo(map);
        container.setAttribute("data-sg-tiles", "failed");
      });
    });

    function refreshLegend() {
      var family = state.family;
      var fam = cfg.families[family];
      var where = state.level === "ward" ? "wards" : "neighborhoods";
      var html = "<div class='sg-legend-title'>" + esc(fam.label) + ": " +
        esc(field("class").label.toLowerCase()) + "</div>";
      html += "<div class='sg-legend-sub'>Thirds among " +
        (cfg.ward ? "the city's neighborhoods (this ward's shown)" : "all " + where) +
        (state.year ? ", " + esc(state.year) : ", all years") + ".</div>";
      // the counts are of the areas drawn (a ward's map: the ward's own neighborhoods)
      var counts = {};
      lastFeatures.forEach(function (f) {
        var c = f.properties["class_" + family] || 0;
        counts[c] = (counts[c] || 0) + 1;
      });
      html += "<table class='sg-bivariate'><caption>Areas by need and access</caption>" +
        "<tr><th></th><th scope='col'>low access</th><th scope='col'>middle</th>" +
        "<th scope='col'>high</th></tr>";
      [3, 2, 1].forEach(function (n) {
        html += "<tr><th scope='row'>" + ["", "low need", "middle", "high need"][n] + "</th>";
        [1, 2, 3].forEach(function (a) {
          var code = 3 * (n - 1) + a;
          html += "<td><i class='sg-swatch" + (code === 7 ? " sg-underserved" : "") +
            "' style='background:" + classColor(cfg, code) + "'></i>" +
            esc(counts[code] || 0) + "</td>";
        });
        html += "</tr>";
      });
      html += "</table><div class='sg-legend-row sg-wrap sg-key-notes'>" +
        "<i class='sg-swatch sg-underserved' style='background:" + classColor(cfg, 7) +
        "'></i>underserved (high need, low access) " +
        "<i class='sg-swatch sg-uncertain'></i>uncertain " +
        "<i class='sg-swatch sg-hotspot'></i>hot spot" +
        (counts[0] ? " <i class='sg-swatch' style='background:" + cfg.notRankedColor +
          "'></i>not ranked (" + esc(counts[0]) + ")" : "") + "</div>";
      html += "<div class='sg-legend-title sg-legend-gap'>Providers</div>";
      cfg.familyOrder.forEach(function (f) {
        var d = cfg.families[f];
        html += "<div class='sg-legend-row'>" + pinHTML(d, true) + " " + esc(d.label) + "</div>";
      });
      var reach = cfg.reach;
      html += "<div class='sg-legend-row sg-wrap sg-reach'>Reach: " + esc(reach.label) +
        (reach.catchments[family] ? ". " + esc(fam.label) + " catchments: " +
          esc(reach.catchments[family]) : "") + "</div>";
      if (state.hex && lastHex) {
        html += "<div class='sg-legend-title sg-legend-gap'>Calls per hexagon</div>" +
          "<div class='sg-legend-row sg-wrap'><i class='sg-swatch sg-hex-swatch'></i> " +
          esc(fam.label) + " calls, darker = more (most: " + num(lastHex.max_calls, 0) +
          "; hexagons " + num(2 * lastHex.size_m, 0) + " m across)</div>";
      }
      legend.innerHTML = html + extraLegend;
    }

    function areaData(level, family, year) {
      var key = level + "/" + family + "/" + (year || "all");
      if (!cache[key]) {
        cache[key] = getJSON(withQuery(cfg.api.areas[level], {
          family: family, tolerance: cfg.tolerance, year: year, ward: cfg.ward,
        }));
        cache[key].catch(function () { delete cache[key]; });
      }
      return cache[key];
    }

    function openArea(id) {
      var layer = areaLayers[id];
      if (!layer) return false;
      var was = restoring;
      restoring = true;
      layer.openPopup();
      restoring = was;
      return true;
    }

    function drawAreas() {
      var family = state.family;
      var level = state.level;
      var year = state.year;
      status.show("loading the " + familyLabel(family).toLowerCase() + " layer…");
      return areaData(level, family, year).then(function (fc) {
        if (family !== state.family || level !== state.level || year !== state.year) return;
        areasGroup.clearLayers();
        areaLayers = {};
        var gj = L.geoJSON(fc, {
          style: function (f) {
            var p = f.properties;
            var hot = p["hotspot_need_" + family] === 1;
            return {
              fillColor: classColor(cfg, p["class_" + family]),
              fillOpacity: state.hex ? 0.35 : 0.78, color: hot ? "#111" : "#4d4d4d",
              weight: hot ? 3 : 1,
              dashArray: p["class_uncertain_" + family] === 1 ? "5 4" : null,
            };
          },
          onEachFeature: function (f, layer) {
            var p = f.properties;
            layer.bindTooltip("<strong>" + esc(p.name) + "</strong><br>" +
              esc(p["class_label_" + family] || "not ranked") +
              (p["class_uncertain_" + family] === 1 ? " (uncertain)" : ""), { sticky: true });
            layer.bindPopup(areaPopup(cfg, p, family, level), { maxWidth: 320 });
            layer.on("popupopen", function () {
              if (state.area !== p.area_id) {
                state.area = p.area_id;
                if (!restoring) writeURL(true);
              }
            });
            layer.on("popupclose", function () {
              if (state.area === p.area_id && !restoring) {
                state.area = null;
                writeURL(false);
              }
            });
            layer.on("mouseover", function () { layer.setStyle({ weight: 3, color: "#111" }); });
            layer.on("mouseout", function () { gj.resetStyle(layer); });
            areaLayers[p.area_id] = layer;
          },
        });
        areasGroup.addLayer(gj);
        lastClasses = fc.classes[family] || [];
        lastFeatures = fc.features;
        refreshLegend();
        status.clear();
        if (state.area) openArea(state.area);
        downloadLinks.forEach(function (a) {
          a.href = withQuery(cfg.api.areas[level], { family: family, year: year,
            ward: cfg.ward, format: a.getAttribute("data-format") });
        });
        container.setAttribute("data-sg-areas", family + "/" + level + "/" +
          fc.features.length);
        container.setAttribute("data-sg-year", year ? String(year) : "all");
      }).catch(function (err) { status.error(err); });
    }

    function drawOutlines() {
      getJSON(withQuery(cfg.api.areas.ward, { family: cfg.family, tolerance: cfg.tolerance }))
        .then(function (fc) {
          L.geoJSON(fc, {
            pane: "sg-outline",
            interactive: false,
            filter: function (f) { return !cfg.ward || f.id === cfg.ward; },
            style: { fill: false, color: "#1a1a1a", weight: cfg.ward ? 4 : 2, opacity: 0.85 },
          }).addTo(outline);
          if (!cfg.ward) {
            cfg.wardLabels.forEach(function (w) {
              L.marker([w.lat, w.lon], {
                pane: "sg-labels", interactive: false, keyboard: false,
                icon: L.divIcon({ className: "sg-ward-label", html: esc(w.label),
                  iconSize: null }),
              }).addTo(outline);
            });
          }
          container.setAttribute("data-sg-wards", String(fc.features.length));
        }).catch(function (err) { status.error(err); });
    }

    function drawProviders() {
      getJSON(withQuery(cfg.api.providers, { ward: cfg.ward })).then(function (fc) {
        var byFamily = {};
        fc.features.forEach(function (f) {
          var p = f.properties;
          var d = cfg.families[p.family];
          if (!d || !providers[p.family]) return;
          var c = f.geometry.coordinates;
          var m = L.marker([c[1], c[0]], { icon: providerIcon(d, phone.matches),
            opacity: p.stale ? 0.55 : 1, title: String(p.name) });
          m.bindTooltip(esc(p.name));
          m.bindPopup(providerPopup(cfg, p), { maxWidth: 300 });
          (byFamily[p.family] = byFamily[p.family] || []).push(m);
        });
        Object.keys(byFamily).forEach(function (f) {
          providers[f].addLayers(byFamily[f]);
        });
        container.setAttribute("data-sg-providers", String(fc.features.length));
      }).catch(function (err) { status.error(err); });
    }

    function drawHexbins() {
      if (!state.hex) {
        map.removeLayer(hexbins);
        refreshLegend();
        return;
      }
      map.addLayer(hexbins);
      var family = state.family;
      var year = state.year;
      status.show("loading call hexagons…");
      getJSON(withQuery(cfg.api.hexbins, { family: family, size: cfg.hexSize, year: year }))
        .then(function (fc) {
          if (family !== state.family || year !== state.year || !state.hex) return;
          hexbins.clearLayers();
          var max = Math.max(fc.max_calls, 1);
          L.geoJSON(fc, {
            pane: "sg-hex",
            interactive: false,
            style: function (f) {
              var n = f.properties.calls === null ? 1 : f.properties.calls;
              return {
                fillColor: cfg.hexColor, color: cfg.hexColor, weight: 0.5, opacity: 0.5,
                fillOpacity: 0.12 + 0.73 * Math.sqrt(n / max),
              };
            },
          }).addTo(hexbins);
          lastHex = fc;
          refreshLegend();
          status.clear();
          container.setAttribute("data-sg-hexbins", family + "/" + fc.features.length);
        }).catch(function (err) { status.error(err); });
    }

    // ------------------------------------------------------------------ state

    function stateQuery() {
      var c = map.getCenter();
      return {
        family: state.family,
        level: cfg.levelToggle ? state.level : null,
        year: state.year,
        area: state.area,
        hex: state.hex ? "1" : null,
        z: map.getZoom(),
        lat: c.lat.toFixed(5),
        lng: c.lng.toFixed(5),
      };
    }

    function writeURL(push) {
      if (restoring) return;
      var q = new URLSearchParams(window.location.search);
      var s = stateQuery();
      Object.keys(s).forEach(function (k) {
        if (s[k] === null || s[k] === undefined || s[k] === "") q.delete(k);
        else q.set(k, String(s[k]));
      });
      var url = window.location.pathname + "?" + q.toString() + window.location.hash;
      if (url === window.location.pathname + window.location.search + window.location.hash) {
        return;
      }
      if (push) window.history.pushState(null, "", url);
      else window.history.replaceState(null, "", url);
    }

    function retitle() {
      var title = cfg.title + (state.year ? " — " + state.year : "");
      var h1 = document.querySelector("h1.sg-title");
      if (h1) h1.textContent = title;
      document.title = title + " · safetygap";
    }

    function syncInputs() {
      Object.keys(familyInputs).forEach(function (f) {
        familyInputs[f].checked = f === state.family;
      });
      Object.keys(levelInputs).forEach(function (l) {
        levelInputs[l].checked = l === state.level;
      });
      if (yearSelect) yearSelect.value = state.year ? String(state.year) : "";
      if (hexBox) hexBox.checked = state.hex;
    }

    var listeners = [];

    // change the view; push a history entry when the user asked for it
    function setState(change, push) {
      var before = { family: state.family, level: state.level, year: state.year,
        hex: state.hex };
      Object.keys(change).forEach(function (k) { state[k] = change[k]; });
      cfg.year = state.year;
      if (before.level !== state.level || before.family !== state.family ||
          before.year !== state.year) {
        state.area = change.area !== undefined ? change.area : null;
        map.closePopup();
      }
      syncInputs();
      retitle();
      if (before.family !== state.family || before.level !== state.level ||
          before.year !== state.year || before.hex !== state.hex) {
        drawAreas();
      }
      if (before.family !== state.family || before.year !== state.year ||
          before.hex !== state.hex) {
        drawHexbins();
      }
      if (push) writeURL(true);
      listeners.forEach(function (fn) { fn(state, before); });
    }

    // back and forward: the view the address describes, written back to no history entry
    window.addEventListener("popstate", function () {
      var u = readURL();
      restoring = true;
      try {
        var area = u.area || null;
        setState({
          family: cfg.families[u.family] ? u.family : cfg.family,
          level: cfg.levelToggle && u.level ? u.level : cfg.level,
          year: cfg.years.indexOf(Number(u.year)) >= 0 ? Number(u.year) : null,
          hex: u.hex === "1",
          area: area,
        }, false);
        state.area = area;
        if (finite(u.z) && finite(u.lat) && finite(u.lng)) {
          map.setView([Number(u.lat), Number(u.lng)], Number(u.z), { animate: false });
        }
        if (!state.area) map.closePopup();
        else if (!areaLayers[state.area] || !areaLayers[state.area].isPopupOpen()) {
          openArea(state.area);
        }
      } finally {
        restoring = false;
      }
    });

    if (finite(fromURL.z) && finite(fromURL.lat) && finite(fromURL.lng)) {
      map.setView([Number(fromURL.lat), Number(fromURL.lng)], Number(fromURL.z),
        { animate: false });
    }
    map.on("moveend", function () { writeURL(false); });

    retitle();
    drawAreas();
    drawOutlines();
    drawProviders();
    drawHexbins();
    writeURL(false);

    return {
      map: map,
      cfg: cfg,
      state: state,
      status: status,
      legend: legend,
      phone: phone,
      options: options,
      setState: setState,
      // a new title for the page (h1 and the window's), the year still added
      setTitle: function (title) {
        cfg.title = title;
        retitle();
      },
      onChange: function (fn) { listeners.push(fn); },
      // more legend (HTML the caller escaped), kept when the legend is redrawn
      setLegendExtra: function (html) {
        extraLegend = html;
        refreshLegend();
      },
      redraw: drawAreas,
      // another overlay (e.g. proposed sites) with a checkbox in the options panel
      addOverlay: function (html, layer, shown) {
        var box = options._body.querySelector(".sg-overlays");
        checkbox(box, html, shown !== false, function (on) { toggle(layer, on); });
        if (shown !== false) map.addLayer(layer);
        return layer;
      },
    };
  }

  window.safetygap = {
    gapMap: gapMap, esc: esc, finite: finite, num: num, pct: pct, fmt: fmt, field: field,
    reachText: reachText, distanceText: distanceText, serviceLabel: serviceLabel,
    familyLabel: familyLabel, getJSON: getJSON, withQuery: withQuery, el: el,
  };
})();
