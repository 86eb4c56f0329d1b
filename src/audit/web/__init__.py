"""The workspace (工作台) in the browser: server-rendered pages in Chinese, htmx for partial
updates, Apache ECharts for charts, every file served by the app itself."""
