/*
 * safetygap siting page, for service providers and planners: propose new sites (service
 * type, number of sites, travel time or distance, whether existing providers count) and
 * try a what-if (click the map to place a service, choose its type and capacity), with
 * the residents and calls each newly reaches, in words and numbers.
 *
 * Sites come from GET /api/sites, what-ifs from POST /api/scenarios. The choices are kept
 * in the address bar (a link reproduces them). Loaded after safetygap-map.js, on top of
 * the gap map it draws. Every string from the data (site and area names, addresses) goes
 * through esc() before it reaches HTML, or is set as text.
 */
(function () {
  "use strict";

  var sg = window.safetygap;
  var esc = sg.esc;
  var num = sg.num;
  var pct = sg.pct;
  var finite = sg.finite;

  function $(id) { return document.getElementById(id); }

  function plural(n, one, many) {
    return num(n, 0) + " " + (Number(n) === 1 ? one : many);
  }

  function catchmentText(d) {
    var reach = sg.distanceText(d.catchment, d.catchment_unit, d.distance_model);
    if (d.catchment_unit === "min") {
      return "the area reached within " + reach + " on the street network";
    }
    return "a circle of " + reach + " (straight-line)";
  }

  function gainRows(areas, label) {
    if (!areas.length) return "";
    var html = "<tr><th colspan='3' scope='colgroup' class='sg-sites-sub'>" + esc(label) +
      "</th></tr>";
    areas.slice(0, 6).forEach(function (a) {
      html += "<tr><td>" + esc(a.name) + "</td><td>+" + esc(num(a.calls_newly_covered, 0)) +
        "</td><td>" + esc(pct(a.coverage_before)) + " → " + esc(pct(a.coverage_after)) +
        "</td></tr>";
    });
    return html;
  }

  function sitePopup(d, s) {
    return "<div class='sg-popup sg-site-popup'><h2>Site " + esc(s.rank) + ": " +
      esc(s.address || s.name) + "</h2><div class='sg-popup-sub'>new " +
      esc(sg.serviceLabel(d.service_type)) + "; reach " +
      esc(sg.distanceText(d.catchment, d.catchment_unit, d.distance_model)) + "</div><table>" +
      (finite(s.residents_newly_reached) ? "<tr><th scope='row'>residents newly reached</th>" +
        "<td>" + esc(num(s.residents_newly_reached, 0)) + "</td></tr>" : "") +
      "<tr><th scope='row'>need calls newly reached</th><td>" + esc(num(s.marginal_calls, 0)) +
      "</td></tr>" +
      (finite(s.eligible_newly_covered) ? "<tr><th scope='row'>of them calls a non-police " +
        "responder could take</th><td>" + esc(num(s.eligible_newly_covered, 0)) +
        "</td></tr>" : "") +
      "<tr><th scope='row'>with the sites ranked above</th><td>" +
      esc(num(s.cumulative_calls, 0)) + "</td></tr></table>" +
      // sites placed as if no provider existed still leave the existing ones standing in
      // the areas' share within reach, which can read 100% -> 100%: say so
      "<table class='sg-gains'><tr><th scope='col'>area that gains</th><th scope='col'>calls" +
      "</th><th scope='col'>within reach" + (d.existing === "ignore" ?
        " (existing providers counted)" : "") + "</th></tr>" +
      gainRows(s.neighborhoods, "neighborhoods") +
      gainRows(s.wards, "wards") + "</table></div>";
  }

  function siteIcon(color, rank, big) {
    var size = big ? 44 : 32;
    return L.divIcon({
      className: "sg-site",
      html: "<span class='sg-site-pin' style='border-color:" + esc(color) + "'>" + esc(rank) +
        "</span>",
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2],
      popupAnchor: [0, -13],
    });
  }

  function readChoices(form) {
    var data = new FormData(form);
    return {
      family: data.get("family"),
      k: data.get("k"),
      service_type: data.get("service_type") || null,
      catchment: data.get("catchment") || null,
      existing: form.querySelector("[name=existing]").checked ? null : "ignore",
    };
  }

  function fillServiceTypes(cfg, select, family, chosen) {
    select.textContent = "";
    var first = document.createElement("option");
    first.value = "";
    first.textContent = "most common among existing providers";
    select.appendChild(first);
    cfg.serviceTypes.filter(function (t) { return t.family === family; })
      .forEach(function (t) {
        var o = document.createElement("option");
        o.value = t.name;
        o.textContent = t.label + " (reach " + t.reach + ")";
        select.appendChild(o);
      });
    select.value = chosen || "";
  }

  function sitesMap(gm, cfg) {
    var map = gm.map;
    var container = map.getContainer();
    var form = $("sg-siting-form");
    var status = $("sg-sites-status");
    var summary = $("sg-sites-summary");
    var list = $("sg-sites-list");
    var downloads = $("sg-sites-downloads");
    var sites = L.featureGroup();
    var catchments = L.featureGroup();
    map.createPane("sg-catchments").style.zIndex = 420;
    gm.addOverlay("Proposed sites", sites);
    gm.addOverlay("Their reach", catchments);
    var current = null;

    function say(text, isError) {
      status.textContent = text;
      status.className = isError ? "sg-note sg-error" : "sg-note";
    }

    function query(choices, format) {
      return sg.withQuery(cfg.api.sites, {
        family: choices.family, k: choices.k, service_type: choices.service_type,
        catchment: choices.catchment, existing: choices.existing, format: format,
      });
    }

    function setForm(choices) {
      form.family.value = choices.family;
      fillServiceTypes(cfg, form.service_type, choices.family, choices.service_type);
      form.k.value = choices.k;
      form.catchment.value = choices.catchment || "";
      form.existing.checked = choices.existing !== "ignore";
    }

    function fromURL() {
      var q = new URLSearchParams(window.location.search);
      var family = cfg.families.indexOf(q.get("family")) >= 0 ? q.get("family") : cfg.family;
      var k = Number(q.get("k"));
      return {
        family: family,
        k: k >= 1 && k <= cfg.maxSites ? String(Math.round(k)) : String(cfg.k),
        service_type: q.get("service_type") || null,
        catchment: finite(q.get("catchment")) ? q.get("catchment") : null,
        existing: q.get("existing") === "ignore" ? "ignore" : null,
      };
    }

    function writeURL(choices, push) {
      var q = new URLSearchParams(window.location.search);
      ["family", "k", "service_type", "catchment", "existing"].forEach(function (key) {
        if (choices[key]) q.set(key, choices[key]); else q.delete(key);
      });
      var url = window.location.pathname + "?" + q.toString();
      if (push) window.history.pushState(null, "", url);
      else window.history.replaceState(null, "", url);
    }

    function draw(d, color) {
      map.closePopup();  // a site's popup from the last proposal
      sites.clearLayers();
      catchments.clearLayers();
      list.textContent = "";
      var bounds = [];
      d.sites.forEach(function (s) {
        var area = L.geoJSON(s.catchment_area, {
          pane: "sg-catchments", interactive: false,
          style: { color: color, weight: 2, dashArray: "6 4", fillColor: color,
            fillOpacity: 0.08 },
        });
        catchments.addLayer(area);
        var m = L.marker([s.latitude, s.longitude], {
          icon: siteIcon(color, s.rank, gm.phone.matches),
          title: String(s.rank) + ". " + String(s.address || s.name),
          zIndexOffset: 1000 - s.rank,
        });
        m.bindPopup(sitePopup(d, s), { maxWidth: 360 });
        sites.addLayer(m);
        bounds.push([s.latitude, s.longitude]);
        var li = document.createElement("li");
        var title = document.createElement("strong");
        title.textContent = String(s.address || s.name);
        li.appendChild(title);
        li.appendChild(document.createTextNode(
          (s.address ? " (" + String(s.name) + ")" : "") + ": reaches " +
          (finite(s.residents_newly_reached) ?
            plural(s.residents_newly_reached, "resident", "residents") + " and " : "") +
          plural(s.marginal_calls, "need call", "need calls") + " not reached before. "));
        var zoom = document.createElement("button");
        zoom.type = "button";
        zoom.className = "sg-link-button";
        zoom.textContent = "Show site " + s.rank + " on the map";
        zoom.addEventListener("click", function () {
          map.setView([s.latitude, s.longitude], Math.max(map.getZoom(), 14));
          m.openPopup();
        });
        li.appendChild(zoom);
        list.appendChild(li);
      });
      return bounds;
    }

    function words(d) {
      var fam = sg.familyLabel(d.family).toLowerCase();
      if (!d.sites.length) {
        return "No new " + fam + " site would reach a need call that " +
          (d.existing === "ignore" ? "no site reaches" : "existing providers do not reach") +
          ": " + (d.stopped_reason || "nothing to add") + ".";
      }
      var type = sg.serviceLabel(d.service_type);
      var text = plural(d.sites.length, "new " + type + " site", "new " + type + " sites") +
        " would reach " + (finite(d.residents_newly_reached) ?
          plural(d.residents_newly_reached, "more resident", "more residents") + " and " : "") +
        num(d.covered_after - d.covered_before, 0) + " more of the " +
        num(d.need_calls, 0) + " " + fam + " need calls" +
        (finite(d.eligible_newly_covered) ? " (" + num(d.eligible_newly_covered, 0) +
          " of them calls a non-police responder could take)" : "") +
        ": within reach " + pct(d.coverage_before) + " → " + pct(d.coverage_after) +
        ". Reach of each site: " + catchmentText(d) + "." +
        (d.existing === "ignore" ? " Existing providers were left out: the sites are " +
          "placed as if none existed." : " Existing providers stay where they are.") +
        (d.stopped_early && d.stopped_reason ? " Fewer sites than asked: " +
          d.stopped_reason + "." : "");
      return text;
    }

    function run(choices, push) {
      writeURL(choices, push);
      if (gm.state.family !== choices.family) gm.setState({ family: choices.family }, false);
      var fam = sg.familyLabel(choices.family).toLowerCase();
      gm.setTitle(plural(Number(choices.k), "new " + fam + " site", "new " + fam + " sites"));
      var color = gm.cfg.families[choices.family].color;
      say("computing the sites…");
      container.setAttribute("data-sg-sites", "loading");
      current = choices;
      downloads.querySelector("[data-format=csv]").href = query(choices, "csv");
      downloads.querySelector("[data-format=geojson]").href = query(choices, "geojson");
      downloads.querySelector("[data-format=json]").href = query(choices, null);
      return fetch(query(choices, null), { headers: { Accept: "application/json" } })
        .then(function (r) {
          return r.json().then(function (body) {
            if (!r.ok) {
              var msg = body && body.detail && body.detail.map ? body.detail.map(function (p) {
                return p.msg;
              }).join("; ") : body && body.message ? body.message : "HTTP " + r.status;
              throw new Error(msg);
            }
            return body;
          });
        })
        .then(function (d) {
          if (current !== choices) return;
          d.existing = choices.existing;
          draw(d, color);
          gm.setLegendExtra("<div class='sg-legend-title sg-legend-gap'>Proposed sites</div>" +
            "<div class='sg-legend-row'><span class='sg-site-pin sg-pin-small' " +
            "style='border-color:" + esc(color) + "'>1</span> site, numbered by rank</div>" +
            "<div class='sg-legend-row sg-wrap'><i class='sg-swatch sg-catchment-swatch' " +
            "style='border-color:" + esc(color) + "'></i> its reach: " +
            esc(catchmentText(d)) + "</div>");
          summary.textContent = words(d);
          say("");
          container.setAttribute("data-sg-sites", String(d.sites.length));
        })
        .catch(function (err) {
          say("could not compute the sites: " + (err && err.message ? err.message : err), true);
          container.setAttribute("data-sg-sites", "error");
        });
    }

    form.family.addEventListener("change", function () {
      fillServiceTypes(cfg, form.service_type, form.family.value, null);
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      run(readChoices(form), true);
    });
    window.addEventListener("popstate", function () {
      var choices = fromURL();
      setForm(choices);
      run(choices, false);
    });
    var initial = fromURL();
    setForm(initial);
    run(initial, false);
    whatIf(gm, cfg);
  }

  // ------------------------------------------------------------------- what-if

  function whatIf(gm, cfg) {
    var map = gm.map;
    var container = map.getContainer();
    var form = $("sg-whatif-form");
    if (!form) return;
    var placeBtn = $("sg-whatif-place");
    var list = $("sg-whatif-list");
    var result = $("sg-whatif-result");
    var status = $("sg-whatif-status");
    var downloads = $("sg-whatif-downloads");
    var lastBody = null;  // the request whose change is shown, for its CSV download
    var layer = L.featureGroup().addTo(map);
    var placed = [];
    var placing = false;

    var select = form.service_type;
    cfg.familyOrder.forEach(function (f) {
      var group = document.createElement("optgroup");
      group.label = sg.familyLabel(f);
      cfg.serviceTypes.filter(function (t) { return t.family === f; }).forEach(function (t) {
        var o = document.createElement("option");
        o.value = t.name;
        o.textContent = t.label;
        group.appendChild(o);
      });
      select.appendChild(group);
    });
    function defaultCapacity() {
      var t = cfg.serviceTypes.filter(function (x) { return x.name === select.value; })[0];
      form.capacity.value = t && finite(t.capacity) ? t.capacity : 1;
    }
    select.addEventListener("change", defaultCapacity);
    defaultCapacity();

    function say(text, isError) {
      status.textContent = text;
      status.className = isError ? "sg-note sg-error" : "sg-note";
    }

    function renderList() {
      list.textContent = "";
      placed.forEach(function (p, i) {
        var li = document.createElement("li");
        li.appendChild(document.createTextNode(sg.serviceLabel(p.service_type) +
          ", capacity " + num(p.capacity, 1) + " "));
        var rm = document.createElement("button");
        rm.type = "button";
        rm.className = "sg-link-button";
        rm.textContent = "remove service " + (i + 1);
        rm.addEventListener("click", function () {
          layer.removeLayer(p.marker);
          placed.splice(i, 1);
          renderList();
        });
        li.appendChild(rm);
        list.appendChild(li);
      });
      form.querySelector("[type=submit]").disabled = placed.length === 0;
      container.setAttribute("data-sg-placed", String(placed.length));
    }

    placeBtn.addEventListener("click", function () {
      placing = true;
      L.DomUtil.addClass(container, "sg-placing");
      say("Click or tap the map where the service would be.");
    });

    map.on("click", function (e) {
      if (!placing) return;
      placing = false;
      L.DomUtil.removeClass(container, "sg-placing");
      map.closePopup();  // a click on an area opened its popup first
      var t = cfg.serviceTypes.filter(function (x) { return x.name === select.value; })[0];
      var d = gm.cfg.families[t ? t.family : gm.state.family];
      var marker = L.marker(e.latlng, {
        draggable: true, title: "new " + sg.serviceLabel(select.value),
        icon: L.divIcon({ className: "sg-provider sg-new-service",
          html: "<span class='sg-pin sg-shape-" + esc(d.shape) + "' style='background:" +
            esc(d.color) + "'><i class='fa-solid fa-plus' aria-hidden='true'></i></span>",
          iconSize: [36, 36], iconAnchor: [18, 18] }),
      }).addTo(layer);
      var p = { service_type: select.value, capacity: Number(form.capacity.value) || 1,
        marker: marker };
      placed.push(p);
      renderList();
      say("Placed. Drag it to move it; add more, or compute the change.");
    });

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!placed.length) return;
      var body = { providers: placed.map(function (p, i) {
        var ll = p.marker.getLatLng();
        return { name: "new service " + (i + 1), service_type: p.service_type,
          capacity: p.capacity, latitude: Number(ll.lat.toFixed(6)),
          longitude: Number(ll.lng.toFixed(6)) };
      }) };
      say("computing…");
      container.setAttribute("data-sg-whatif", "loading");
      downloads.hidden = true;
      fetch(cfg.api.scenarios, { method: "POST", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", Accept: "application/json" } })
        .then(function (r) {
          return r.json().then(function (b) {
            if (!r.ok) {
              throw new Error(b && b.detail && b.detail.map ? b.detail.map(function (x) {
                return x.msg;
              }).join("; ") : "HTTP " + r.status);
            }
            return b;
          });
        })
        .then(function (d) {
          result.textContent = "";
          d.families.forEach(function (f) {
            var t = d.totals[f];
            var p = document.createElement("p");
            p.textContent = sg.familyLabel(f) + ": the new service" +
              (placed.length > 1 ? "s" : "") + " would reach " +
              (finite(t.residents_newly_reached) ? plural(t.residents_newly_reached,
                "more resident", "more residents") + " and " : "") +
              plural(t.calls_newly_covered, "more need call", "more need calls") +
              (finite(t.eligible_newly_covered) ? " (" + num(t.eligible_newly_covered, 0) +
                " of them calls a non-police responder could take)" : "") +
              ": need calls within reach " + pct(t.coverage_before) + " → " +
              pct(t.coverage_after) + ".";
            result.appendChild(p);
          });
          var gains = d.neighborhoods.filter(function (a) {
            return finite(a.coverage_change) && a.coverage_change > 0;
          }).sort(function (a, b) { return b.coverage_change - a.coverage_change; }).slice(0, 5);
          if (gains.length) {
            var ul = document.createElement("ul");
            gains.forEach(function (a) {
              var li = document.createElement("li");
              li.textContent = String(a.name) + ": within reach " + pct(a.coverage_before) +
                " → " + pct(a.coverage_after) + "; service gap " +
                num(a.gap_before, 2) + " → " + num(a.gap_after, 2);
              ul.appendChild(li);
            });
            result.appendChild(ul);
          }
          lastBody = body;
          downloads.hidden = false;
          say("");
          container.setAttribute("data-sg-whatif", "done");
        })
        .catch(function (err) {
          say("could not compute the change: " + (err && err.message ? err.message : err),
            true);
          container.setAttribute("data-sg-whatif", "error");
        });
    });
    // the change as a CSV file: the same request with ?format=csv, saved under the
    // server's file name
    downloads.querySelector("[data-format=csv]").addEventListener("click", function () {
      if (!lastBody) return;
      say("preparing the download…");
      fetch(cfg.api.scenarios + "?format=csv", { method: "POST",
        body: JSON.stringify(lastBody), headers: { "Content-Type": "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          var cd = r.headers.get("Content-Disposition") || "";
          var m = /filename="([^"]+)"/.exec(cd);
          return r.blob().then(function (b) { return [b, m ? m[1] : "safetygap-whatif.csv"]; });
        })
        .then(function (got) {
          var a = document.createElement("a");
          a.href = URL.createObjectURL(got[0]);
          a.download = got[1];
          document.body.appendChild(a);
          a.click();
          setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
          say("");
        })
        .catch(function (err) {
          say("could not download the change: " + (err && err.message ? err.message : err),
            true);
        });
    });
    renderList();
  }

  window.safetygap.sitesMap = sitesMap;
})();
