/*
 * safetygap map pages: fill the layers of a Folium map with data fetched from
 * the safetygap API (so the page itself stays small), and add the legend, the
 * neighborhood/ward toggle and a status line.
 *
 * Every string that comes from the data (area and provider names, ids,
 * service types) goes through esc() before it reaches HTML, or is set as
 * text; nothing from the data is ever evaluated.
 */
(function () {
  "use strict";

  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return ESC[c];
    });
  }

  function finite(v) {
    return v !== null && v !== undefined && isFinite(v);
  }

  function num(v, digits) {
    if (!finite(v)) return "–";
    return Number(v).toLocaleString("en-US", { maximumFractionDigits: digits });
  }

  function pct(v) {
    return finite(v) ? (100 * v).toFixed(0) + "%" : "–";
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

  function ciText(p, key, digits, asPct) {
    var lo = p[key + "_ci_low"], hi = p[key + "_ci_high"];
    if (!finite(lo) || !finite(hi)) return "";
    return " (95%: " + (asPct ? pct(lo) + "–" + pct(hi) : num(lo, digits) + "–" + num(hi, digits)) + ")";
  }

  // a catchment in the workspace's unit: "1,200 m straight-line", "15 min walking"
  function reachText(p) {
    if (!finite(p.catchment)) return "–";
    if (p.catchment_unit === "min") {
      return num(p.catchment, 1) + " min " +
        (p.distance_model === "network-drive" ? "driving" : "walking") + " (street network)";
    }
    return num(p.catchment, 0) + " m straight-line";
  }

  // ------------------------------------------------------------- controls

  var StatusControl = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function () {
      this._div = L.DomUtil.create("div", "sg-status");
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

  var LegendControl = L.Control.extend({
    options: { position: "bottomright" },
    initialize: function (cfg) {
      this._cfg = cfg;
    },
    onAdd: function () {
      this._div = L.DomUtil.create("div", "sg-legend");
      L.DomEvent.disableClickPropagation(this._div);
      L.DomEvent.disableScrollPropagation(this._div);
      return this._div;
    },
    update: function (family, level, classes, hex) {
      var cfg = this._cfg;
      var fam = cfg.families[family];
      var byClass = {};
      classes.forEach(function (c) { byClass[c["class"]] = c; });
      var html = "<div class='sg-legend-title'>" + esc(fam.label) + ": need against access</div>";
      html += "<div class='sg-legend-sub'>" + (level === "ward" ? "wards" : "neighborhoods") +
        (cfg.year ? ", " + esc(cfg.year) : "") + "; thirds of the ranked areas</div>";
      html += "<table class='sg-bivariate'><tr><th></th><th colspan='3'>access →</th></tr>";
      [3, 2, 1].forEach(function (n) {
        html += "<tr><th>" + ["", "low", "middle", "high"][n] + " need</th>";
        [1, 2, 3].forEach(function (a) {
          var code = 3 * (n - 1) + a;
          var c = byClass[code] || { label: "", areas: 0 };
          html += "<td title='" + esc(c.label) + "'><i class='sg-swatch" +
            (code === 7 ? " sg-underserved" : "") + "' style='background:" +
            classColor(cfg, code) + "'></i>" + esc(c.areas) + "</td>";
        });
        html += "</tr>";
      });
      html += "<tr><th></th><td>low</td><td>mid</td><td>high</td></tr></table>";
      html += "<div class='sg-legend-row sg-wrap'><i class='sg-swatch sg-underserved' style='background:" +
        classColor(cfg, 7) + "'></i> high need, low access: underserved</div>";
      if (byClass[0]) {
        html += "<div class='sg-legend-row sg-wrap'><i class='sg-swatch' style='background:" +
          cfg.notRankedColor + "'></i> not ranked: few residents or mostly non-resident " +
          "calls (" + esc(byClass[0].areas) + ")</div>";
      }
      html += "<div class='sg-legend-row sg-wrap'><i class='sg-swatch sg-uncertain'></i> " +
        "dashed outline: class uncertain (fewer than " + pct(cfg.uncertainBelow) +
        " of bootstrap replicates agree)</div>";
      html += "<div class='sg-legend-row sg-wrap'><i class='sg-swatch sg-hotspot'></i> " +
        "thick outline: hot spot of need (Gi*, false-discovery rate 5%)</div>";
      html += "<div class='sg-legend-title sg-legend-gap'>Providers</div>";
      cfg.familyOrder.forEach(function (f) {
        var d = cfg.families[f];
        html += "<div class='sg-legend-row'><span class='sg-pin sg-pin-small' style='background:" +
          d.color + "'><i class='fa-solid " + d.icon + "'></i></span> " + esc(d.label) + "</div>";
      });
      var reach = cfg.reach;
      html += "<div class='sg-legend-row sg-wrap sg-reach'>reach: " + esc(reach.label) +
        (reach.catchments[family] ? "; " + esc(fam.label.toLowerCase()) + " catchments: " +
          esc(reach.catchments[family]) : "") + "</div>";
      if (hex) {
        html += "<div class='sg-legend-title sg-legend-gap'>Calls per hexagon</div>" +
          "<div class='sg-legend-row sg-wrap'><i class='sg-swatch sg-hex-swatch'></i> " +
          esc(fam.label) + " calls, darker = more (max " + num(hex.max_calls, 0) + ", " +
          num(2 * hex.size_m, 0) + " m across)</div>";
      }
      this._div.innerHTML = html;
    },
  });

  var LevelControl = L.Control.extend({
    options: { position: "topleft" },
    initialize: function (level, onChange) {
      this._level = level;
      this._onChange = onChange;
    },
    onAdd: function () {
      var div = L.DomUtil.create("div", "sg-toggle leaflet-bar");
      var self = this;
      [["neighborhood", "Neighborhoods"], ["ward", "Wards"]].forEach(function (opt) {
        var label = L.DomUtil.create("label", "", div);
        var input = L.DomUtil.create("input", "", label);
        input.type = "radio";
        input.name = "sg-level";
        input.value = opt[0];
        input.checked = opt[0] === self._level;
        label.appendChild(document.createTextNode(" " + opt[1]));
        L.DomEvent.on(input, "change", function () {
          if (input.checked) self._onChange(opt[0]);
        });
      });
      L.DomEvent.disableClickPropagation(div);
      return div;
    },
  });

  // ---------------------------------------------------------------- popups

  function rankText(p, family) {
    var r = p["underserved_rank_" + family];
    if (!finite(r)) return "not ranked";
    var lo = p["rank_low_" + family], hi = p["rank_high_" + family];
    return num(r, 0) + (finite(lo) && finite(hi) ? " (90%: " + num(lo, 0) + "–" + num(hi, 0) + ")" : "");
  }

  function flagText(p) {
    if (p.small_population === 1) return "fewer residents than the threshold: not ranked";
    if (p.mostly_nonresident === 1) return "calls mostly from non-residents: not ranked";
    return "";
  }

  function areaPopup(cfg, p, family, level) {
    var uncertain = p["class_uncertain_" + family] === 1;
    var hot = p["hotspot_need_" + family];
    var rows = [
      ["need/access class", (p["class_label_" + family] || "not ranked") +
        (uncertain ? " (uncertain)" : "")],
      ["underserved rank (1 = most)", rankText(p, family)],
      ["chance of being in the 10 most underserved", pct(p["p_top10_" + family])],
      ["need: calls per 1,000 residents / year, smoothed", num(p["rate_eb_" + family], 1)],
      ["calls per 1,000 residents / year", num(p["rate_" + family], 1) +
        ciText(p, "rate_" + family, 1, false)],
      ["accessibility (capacity / 1,000 residents)", num(p["access_" + family], 3)],
      ["accessibility per call (capacity / 1,000 calls a year)", num(p["access_need_" + family], 3)],
      ["residents within reach of a provider", pct(p["reach_" + family])],
      ["need calls within reach of a service that handles them (" + cfg.reach.distance_model + ")",
        pct(p["coverage_" + family]) + ciText(p, "coverage_" + family, 0, true)],
      ["diverted to non-police services", pct(p["diverted_share_" + family]) +
        ciText(p, "diverted_share_" + family, 0, true)],
      ["providers located here", num(p["providers_" + family], 0)],
      ["hot spot of need", hot === 1 ? "yes (cluster of high need)" : hot === -1 ? "cold spot" : "no"],
      ["gap index (secondary)", num(p["gap_" + family], 2)],
      ["residents", num(p.population, 0)],
    ];
    var note = flagText(p);
    if (note) rows.push(["note", note]);
    var html = "<div class='sg-popup'><h4>" + esc(p.name) + "</h4><div class='sg-popup-sub'>" +
      esc(cfg.families[family].label) + ", " + (level === "ward" ? "ward" : "neighborhood") +
      " " + esc(p.area_id) + "</div><table>";
    rows.forEach(function (r) {
      html += "<tr><th>" + esc(r[0]) + "</th><td>" + esc(r[1]) + "</td></tr>";
    });
    html += "</table><div class='sg-popup-links'>";
    var id = encodeURIComponent(p.area_id);
    if (level === "ward") {
      html += "<a href='" + esc(cfg.pages.ward + id) + "'>ward map</a> · ";
    }
    html += "<a href='" + esc(cfg.api.areas[level] + "/" + id) + "'>full profile (JSON)</a></div></div>";
    return html;
  }

  function providerPopup(cfg, p) {
    var fam = cfg.families[p.family];
    return "<div class='sg-popup'><h4>" + esc(p.name) + "</h4><div class='sg-popup-sub'>" +
      esc(fam ? fam.label : p.family) + " provider " + esc(p.provider_id) + "</div><table>" +
      "<tr><th>service</th><td>" + esc(p.service_type) + "</td></tr>" +
      "<tr><th>capacity</th><td>" + esc(num(p.capacity, 1)) + "</td></tr>" +
      "<tr><th>reach</th><td>" + esc(p.serves_areas ? "serves " + p.serves : reachText(p)) +
      "</td></tr>" +
      (p.opening_hours ? "<tr><th>hours</th><td>" + esc(p.opening_hours) + "</td></tr>" : "") +
      (p.phone ? "<tr><th>phone</th><td>" + esc(p.phone) + "</td></tr>" : "") +
      "<tr><th>neighborhood</th><td>" + esc(p.neighborhood_id || "outside") + "</td></tr>" +
      "<tr><th>ward</th><td>" + esc(p.ward_id || "outside") + "</td></tr>" +
      (p.stale === null || p.stale === undefined ? "" :
        "<tr><th>last verified</th><td>" + esc(p.last_verified || "never") +
        (p.stale ? " <strong class='sg-stale'>(stale: check it)</strong>" : "") +
        "</td></tr>") +
      "</table></div>";
  }

  function providerIcon(d) {
    return L.divIcon({
      className: "sg-provider",
      html: "<span class='sg-pin' style='background:" + d.color + "'><i class='fa-solid " +
        d.icon + "'></i></span>",
      iconSize: [26, 26],
      iconAnchor: [13, 13],
      popupAnchor: [0, -12],
      tooltipAnchor: [12, 0],
    });
  }

  function clusterIcon(d) {
    return function (cluster) {
      var n = cluster.getChildCount();
      var size = n < 10 ? 30 : n < 100 ? 36 : 42;
      return L.divIcon({
        className: "sg-cluster",
        html: "<span style='background:" + d.color + ";width:" + size + "px;height:" + size +
          "px;line-height:" + size + "px'>" + n + "</span>",
        iconSize: [size, size],
      });
    };
  }

  // ------------------------------------------------------------------ map

  function gapMap(layers, cfg) {
    var map = layers.map;
    var container = map.getContainer();
    var state = { family: cfg.family, level: cfg.level };
    var cache = {};
    var lastHex = null;
    var lastClasses = [];

    map.createPane("sg-hex").style.zIndex = 410;
    var outlinePane = map.createPane("sg-outline");
    outlinePane.style.zIndex = 450;
    outlinePane.style.pointerEvents = "none";

    var status = new StatusControl().addTo(map);
    var legend = new LegendControl(cfg).addTo(map);

    function familyOf(layer) {
      var found = null;
      Object.keys(layers.areas).forEach(function (f) {
        if (layers.areas[f] === layer) found = f;
      });
      return found;
    }

    function refreshLegend() {
      var hex = layers.hexbins && map.hasLayer(layers.hexbins) ? lastHex : null;
      legend.update(state.family, state.level, lastClasses, hex);
    }

    function areaData(level, family) {
      var key = level + "/" + family;
      if (!cache[key]) {
        cache[key] = getJSON(withQuery(cfg.api.areas[level], {
          family: family, tolerance: cfg.tolerance, year: cfg.year, ward: cfg.ward,
        }));
        cache[key].catch(function () { delete cache[key]; });
      }
      return cache[key];
    }

    function drawAreas() {
      var family = state.family;
      var level = state.level;
      var group = layers.areas[family];
      status.show("loading the " + family + " layer…");
      return areaData(level, family).then(function (fc) {
        if (family !== state.family || level !== state.level) return;
        group.clearLayers();
        var gj = L.geoJSON(fc, {
          style: function (f) {
            var p = f.properties;
            var hot = p["hotspot_need_" + family] === 1;
            var uncertain = p["class_uncertain_" + family] === 1;
            return {
              fillColor: classColor(cfg, p["class_" + family]),
              fillOpacity: 0.78, color: hot ? "#111" : "#4d4d4d", weight: hot ? 3 : 1,
              dashArray: uncertain ? "5 4" : null,
            };
          },
          onEachFeature: function (f, layer) {
            var p = f.properties;
            var label = p["class_label_" + family] || "not ranked";
            layer.bindTooltip("<strong>" + esc(p.name) + "</strong><br>" + esc(label) +
              (p["class_uncertain_" + family] === 1 ? " (uncertain)" : ""),
              { sticky: true });
            layer.bindPopup(areaPopup(cfg, p, family, level), { maxWidth: 320 });
            layer.on("mouseover", function () {
              layer.setStyle({ weight: 3, color: "#111" });
            });
            layer.on("mouseout", function () { gj.resetStyle(layer); });
          },
        });
        group.addLayer(gj);
        lastClasses = fc.classes[family] || [];
        refreshLegend();
        status.clear();
        container.setAttribute("data-sg-areas", family + "/" + level + "/" + fc.features.length);
      }).catch(function (err) { status.error(err); });
    }

    function drawOutlines() {
      if (!layers.outline) return;
      getJSON(withQuery(cfg.api.areas.ward, { family: cfg.family, tolerance: cfg.tolerance }))
        .then(function (fc) {
          L.geoJSON(fc, {
            pane: "sg-outline",
            interactive: false,
            filter: function (f) { return !cfg.ward || f.id === cfg.ward; },
            style: { fill: false, color: "#1a1a1a", weight: cfg.ward ? 4 : 2, opacity: 0.85 },
          }).addTo(layers.outline);
        }).catch(function (err) { status.error(err); });
    }

    function drawProviders() {
      getJSON(withQuery(cfg.api.providers, { ward: cfg.ward })).then(function (fc) {
        var byFamily = {};
        fc.features.forEach(function (f) {
          var p = f.properties;
          var d = cfg.families[p.family];
          if (!d || !layers.providers[p.family]) return;
          var c = f.geometry.coordinates;
          var m = L.marker([c[1], c[0]], { icon: providerIcon(d), opacity: p.stale ? 0.55 : 1,
            title: String(p.name) });
          m.bindTooltip(esc(p.name));
          m.bindPopup(providerPopup(cfg, p), { maxWidth: 300 });
          (byFamily[p.family] = byFamily[p.family] || []).push(m);
        });
        Object.keys(byFamily).forEach(function (f) {
          var group = layers.providers[f];
          if (group.addLayers) {
            group.options.iconCreateFunction = clusterIcon(cfg.families[f]);
            group.addLayers(byFamily[f]);
          } else {
            byFamily[f].forEach(function (m) { group.addLayer(m); });
          }
        });
        container.setAttribute("data-sg-providers", String(fc.features.length));
      }).catch(function (err) { status.error(err); });
    }

    function drawHexbins() {
      if (!layers.hexbins || !map.hasLayer(layers.hexbins)) return;
      var family = state.family;
      status.show("loading call hexagons…");
      getJSON(withQuery(cfg.api.hexbins, { family: family, size: cfg.hexSize, year: cfg.year }))
        .then(function (fc) {
          if (family !== state.family) return;
          layers.hexbins.clearLayers();
          var max = Math.max(fc.max_calls, 1);
          L.geoJSON(fc, {
            pane: "sg-hex",
            style: function (f) {
              return {
                fillColor: cfg.hexColor, color: cfg.hexColor, weight: 0.5, opacity: 0.5,
                fillOpacity: 0.12 + 0.73 * Math.sqrt(f.properties.calls / max),
              };
            },
            onEachFeature: function (f, layer) {
              var fam = esc(cfg.families[family].label.toLowerCase());
              layer.bindTooltip(f.properties.calls === null
                ? "a few " + fam + " calls (count hidden for privacy)"
                : esc(num(f.properties.calls, 0)) + " " + fam + " calls");
            },
          }).addTo(layers.hexbins);
          lastHex = fc;
          refreshLegend();
          status.clear();
          container.setAttribute("data-sg-hexbins", family + "/" + fc.features.length);
        }).catch(function (err) { status.error(err); });
    }

    map.on("baselayerchange", function (e) {
      var f = familyOf(e.layer);
      if (!f) return;
      state.family = f;
      drawAreas();
      drawHexbins();
    });
    map.on("overlayadd", function (e) {
      if (e.layer === layers.hexbins) drawHexbins();
    });
    map.on("overlayremove", function (e) {
      if (e.layer === layers.hexbins) refreshLegend();
    });
    if (cfg.levelToggle) {
      new LevelControl(state.level, function (level) {
        state.level = level;
        drawAreas();
      }).addTo(map);
    }
    drawAreas();
    drawOutlines();
    drawProviders();
    drawHexbins();
    return { state: state, redraw: drawAreas };
  }

  window.safetygap = {
    gapMap: gapMap, esc: esc, finite: finite, num: num, pct: pct, reachText: reachText,
  };
})();
