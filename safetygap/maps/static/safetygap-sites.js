/*
 * safetygap recommended-sites page: fetch the ranked sites from the API and draw
 * them on the gap map as numbered markers with their catchments, a popup per
 * site, a legend saying how catchments are drawn, and the list in the side panel.
 *
 * Loaded after safetygap-map.js. Every string from the data (site and area
 * names, ids) goes through esc() before it reaches HTML, or is set as text.
 */
(function () {
  "use strict";

  var sg = window.safetygap;
  var esc = sg.esc;
  var num = sg.num;
  var pct = sg.pct;

  function catchmentText(d) {
    var reach = num(d.catchment, 1) + (d.catchment_unit === "min" ? " min" : " m");
    if (d.catchment_unit === "min") {
      var mode = d.distance_model.replace("network-", "");
      return "area reached within " + reach + " " + (mode === "walk" ? "walking" : "driving") +
        " on the street network (the streets reached, and the walk left from each)";
    }
    return "circle of " + reach + " (straight-line)";
  }

  function areaRows(areas, label) {
    if (!areas.length) return "";
    var html = "<tr><th colspan='4' class='sg-sites-sub'>" + esc(label) + "</th></tr>";
    areas.forEach(function (a) {
      html += "<tr><td>" + esc(a.name) + "</td><td>+" + esc(num(a.calls_newly_covered, 0)) +
        "</td><td>" + esc(num(a.gap_before, 2)) + " → " + esc(num(a.gap_after, 2)) +
        "</td><td>" + esc(pct(a.coverage_before)) + " → " + esc(pct(a.coverage_after)) +
        "</td></tr>";
    });
    return html;
  }

  function sitePopup(d, s) {
    return "<div class='sg-popup sg-site-popup'><h4>Site " + esc(s.rank) + ": " + esc(s.name) +
      "</h4><div class='sg-popup-sub'>new " + esc(d.service_type) + " site; catchment " +
      esc(num(d.catchment, 1)) + (d.catchment_unit === "min" ? " min " +
      (d.distance_model === "network-drive" ? "driving" : "walking") : " m") +
      "</div><table>" +
      "<tr><th>need calls newly covered</th><td>" + esc(num(s.marginal_calls, 0)) + "</td></tr>" +
      "<tr><th>with the sites ranked above</th><td>" + esc(num(s.cumulative_calls, 0)) +
      "</td></tr><tr><th>neighborhood / ward</th><td>" + esc(s.neighborhood_id || "outside") +
      " / " + esc(s.ward_id || "outside") + "</td></tr></table>" +
      "<table class='sg-gains'><tr><th>area that gains</th><th>calls</th><th>gap</th>" +
      "<th>coverage</th></tr>" + areaRows(s.neighborhoods, "neighborhoods") +
      areaRows(s.wards, "wards") + "</table></div>";
  }

  function siteIcon(color, rank) {
    return L.divIcon({
      className: "sg-site",
      html: "<span class='sg-site-pin' style='border-color:" + color + "'>" + esc(rank) +
        "</span>",
      iconSize: [28, 28],
      iconAnchor: [14, 14],
      popupAnchor: [0, -13],
    });
  }

  var SitesLegend = L.Control.extend({
    options: { position: "bottomright" },
    onAdd: function () {
      this._div = L.DomUtil.create("div", "sg-legend sg-sites-legend");
      L.DomEvent.disableClickPropagation(this._div);
      return this._div;
    },
    update: function (d, color) {
      this._div.innerHTML = "<div class='sg-legend-title'>New sites</div>" +
        "<div class='sg-legend-row'><span class='sg-site-pin sg-pin-small' style='border-color:" +
        color + "'>1</span> site, numbered by rank</div>" +
        "<div class='sg-legend-row sg-wrap'><i class='sg-swatch sg-catchment-swatch' " +
        "style='border-color:" + color + "'></i> catchment: " + esc(catchmentText(d)) +
        "</div>";
    },
  });

  function sitesMap(layers, cfg) {
    var map = layers.map;
    var container = map.getContainer();
    var color = cfg.families[cfg.family].color;
    var status = document.getElementById("sg-sites-status");
    var summary = document.getElementById("sg-sites-summary");
    var list = document.getElementById("sg-sites-list");
    map.createPane("sg-catchments").style.zIndex = 420;

    function say(text, isError) {
      if (!status) return;
      status.textContent = text;
      status.className = isError ? "sg-note sg-error" : "sg-note";
    }

    fetch(cfg.api.sites, { headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body && body.message ? body.message : "HTTP " + r.status);
          return body;
        });
      })
      .then(function (d) {
        var legend = new SitesLegend().addTo(map);
        legend.update(d, color);
        var bounds = [];
        d.sites.forEach(function (s) {
          var area = L.geoJSON(s.catchment_area, {
            pane: "sg-catchments",
            style: { color: color, weight: 2, dashArray: "6 4", fillColor: color,
                     fillOpacity: 0.08 },
          });
          area.bindTooltip("catchment of site " + esc(s.rank), { sticky: true });
          layers.catchments.addLayer(area);
          var m = L.marker([s.latitude, s.longitude], {
            icon: siteIcon(color, s.rank), title: String(s.rank) + ". " + String(s.name),
            zIndexOffset: 1000 - s.rank,
          });
          m.bindPopup(sitePopup(d, s), { maxWidth: 380 });
          layers.sites.addLayer(m);
          bounds.push([s.latitude, s.longitude]);
          if (list) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = "#";
            a.textContent = String(s.name);
            a.addEventListener("click", function (e) {
              e.preventDefault();
              map.setView([s.latitude, s.longitude], Math.max(map.getZoom(), 14));
              m.openPopup();
            });
            li.appendChild(a);
            var gains = s.neighborhoods.slice(0, 3).map(function (n) {
              return String(n.name) + " +" + num(n.calls_newly_covered, 0);
            }).join(", ");
            li.appendChild(document.createTextNode(": +" + num(s.marginal_calls, 0) +
              " calls" + (gains ? " (" + gains + ")" : "")));
            list.appendChild(li);
          }
        });
        var fam = cfg.families[cfg.family].label.toLowerCase();
        var text;
        if (!d.sites.length) {
          text = "Every " + fam + " need call is already within reach of a provider (or of " +
            "no candidate site): no new site adds coverage.";
        } else {
          text = d.sites.length + " site" + (d.sites.length > 1 ? "s" : "") + " cover " +
            num(d.covered_after - d.covered_before, 0) + " more of the " +
            num(d.need_calls, 0) + " " + fam + " need calls: coverage " +
            pct(d.coverage_before) + " → " + pct(d.coverage_after) + ". Candidates: " +
            num(d.candidates.count, 0) + " " + d.candidates.source + "; " +
            d.distance_model + "." + (d.stopped_early ? " No further site covers any " +
            "remaining call." : "");
        }
        if (summary) summary.textContent = text;
        say("");
        container.setAttribute("data-sg-sites", String(d.sites.length));
      })
      .catch(function (err) {
        say("could not compute the sites: " + (err && err.message ? err.message : err), true);
        container.setAttribute("data-sg-sites", "error");
      });
  }

  window.safetygap.sitesMap = sitesMap;
})();
