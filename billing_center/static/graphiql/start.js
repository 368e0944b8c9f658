// Starts GraphiQL on this page (this project's own script; an external file, since the page's
// Content-Security-Policy runs no inline script). The query and variables are kept in the URL
// (?q=…&variables=…) so that a link shares them; headers never are (they hold tokens).
(function () {
  "use strict";

  var root = document.getElementById("graphiql");
  // Dialogs (settings, shortcuts) add a <style> element: the page's CSP admits it by this
  // response's nonce, which react-remove-scroll reads from this global.
  window.__webpack_nonce__ = root.dataset.styleNonce;

  var parameters = new URLSearchParams(window.location.search);
  var endpoint = window.location.origin + window.location.pathname;

  function remember(name, value) {
    if (value) {
      parameters.set(name, value);
    } else {
      parameters.delete(name);
    }
    var search = parameters.toString();
    history.replaceState(null, "", search ? "?" + search : window.location.pathname);
  }

  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  function Page() {
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      defaultQuery: "# Headers (below): {\"Authorization\": \"Bearer bc_…\"}\n{\n  viewer {\n    displayName\n  }\n}\n",
      query: parameters.get("q") || undefined,
      variables: parameters.get("variables") || undefined,
      onEditQuery: function (query) { remember("q", query); },
      onEditVariables: function (variables) { remember("variables", variables); },
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    });
  }

  ReactDOM.createRoot(root).render(React.createElement(Page));
})();
