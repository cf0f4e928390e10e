module github.com/wsstd/websocket

go 1.22
