//go:build !js

package websocket

import (
	"compress/flate"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Compression engines are large (a flate.Writer is over a megabyte of
// heap) and a connection needs one only while it writes, so they live in
// pools. A connection with context takeover keeps the few bytes its next
// message may refer to instead, and primes a pooled compressor with them.

var (
	flateWriters     sync.Pool // *flate.Writer at flate.BestSpeed
	flateHuffWriters sync.Pool // *flate.Writer at flate.HuffmanOnly
	flateReaders     sync.Pool // io.ReadCloser implementing flate.Resetter
)

func getFlateWriter(w io.Writer) *flate.Writer {
	if fw, ok := flateWriters.Get().(*flate.Writer); ok {
		fw.Reset(w)
		return fw
	}
	fw, _ := flate.NewWriter(w, flate.BestSpeed)
	return fw
}

func getHuffWriter(w io.Writer) *flate.Writer {
	if fw, ok := flateHuffWriters.Get().(*flate.Writer); ok {
		fw.Reset(w)
		return fw
	}
	fw, _ := flate.NewWriter(w, flate.HuffmanOnly)
	return fw
}

func getFlateReader(r io.Reader, dict []byte) io.ReadCloser {
	if fr, ok := flateReaders.Get().(io.ReadCloser); ok {
		fr.(flate.Resetter).Reset(r, dict)
		return fr
	}
	return flate.NewReaderDict(r, dict)
}

// deflateIdle is how long a connection with context takeover keeps its
// compressor after its last compressed message: between one and two of
// these. A variable so that tests can shorten it.
var deflateIdle = time.Second

// deflater is a Conn's compression state. Its fields are guarded by the
// Conn's mlock.
type deflater struct {
	c    *Conn
	fw   *flate.Writer // nil while pooled away
	sink deflateSink   // where fw writes

	// huffman: the peer limited our window below 32 KiB, which
	// compress/flate cannot do; Huffman coding alone (no back-references)
	// is valid for every window. Such a stream has no context to keep.
	huffman bool
	// keep: context takeover. fw stays while the connection writes; once
	// idle it goes back to the pool and history is what the peer's window
	// holds that the next message may refer to.
	keep    bool
	history []byte
	fed     int  // bytes fed to fw for the current message
	used    bool // a message was compressed since the idle timer last looked
	armed   bool // the idle timer is running
	// idle is set once, under mlock, but the timer's function reads it
	// without mlock when a writer holds it: atomic, so that a timer that
	// fired at once would not race with its own assignment.
	idle   atomic.Pointer[time.Timer]
	period time.Duration // deflateIdle when the Conn was made
}

// init sets the deflater up for the agreed parameters.
func (d *deflater) init(c *Conn, p *deflateParams) {
	d.c = c
	d.sink.w = &c.mw
	d.huffman = window(p.writeBits) < 1<<15
	d.keep = !p.writeNoContext && !d.huffman
	d.period = deflateIdle
}

// begin prepares the compressor for a message written through w.
func (d *deflater) begin(w *messageWriter) {
	d.fed = 0
	if d.fw != nil {
		d.used = true
		return
	}
	if d.huffman {
		d.fw = getHuffWriter(&d.sink)
		return
	}
	if !d.keep {
		d.fw = getFlateWriter(&d.sink)
		return
	}
	d.prime()
	d.used = true
	if !d.armed {
		d.armed = true
		if t := d.idle.Load(); t != nil {
			t.Reset(d.period)
		} else {
			d.idle.Store(time.AfterFunc(d.period, d.checkIdle))
		}
	}
}

// prime takes a pooled compressor and feeds it the history, dropping the
// output, so that it stands where the connection's own compressor stood.
func (d *deflater) prime() {
	d.sink.discard = true
	d.fw = getFlateWriter(&d.sink)
	if len(d.history) > 0 {
		d.fw.Write(d.history)
		d.fw.Flush()
	}
	d.sink.discard = false
}

// write compresses p as part of the current message.
func (d *deflater) write(p []byte) (int, error) {
	if d.keep && len(p) > 0 {
		if d.fed == 0 {
			d.history = d.history[:0]
		}
		d.history = appendWindow(d.history, p, 1<<15)
	}
	d.fed += len(p)
	return d.fw.Write(p)
}

// finish flushes the message's compressed data and strips the tail. The
// caller then sends the final frame.
func (d *deflater) finish(w *messageWriter) error {
	if err := d.fw.Flush(); err != nil {
		return err
	}
	buf := w.c.wbuf
	if w.n-maxHeaderLen < 4 || string(buf[w.n-4:w.n]) != "\x00\x00\xff\xff" {
		return errors.New("websocket: compressor output lacks the sync-flush tail")
	}
	w.n -= 4
	if d.keep {
		d.trimHistory()
		return nil
	}
	d.put()
	return nil
}

// trimHistory keeps of the message just sent what flate.BestSpeed may
// refer to in the next one: its last block (the input since the last
// 64 KiB boundary, a block being 65535 bytes), up to 32 KiB of it; a block
// under 128 bytes is Huffman coded and the compressor forgets its history.
// Priming with more would cost time for no gain in ratio. An empty
// message leaves the history as it was.
func (d *deflater) trimHistory() {
	if d.fed == 0 {
		return
	}
	last := d.fed % 65535
	if last == 0 {
		last = 65535
	}
	if last < 128 {
		d.history = d.history[:0]
		return
	}
	if last < len(d.history) {
		d.history = d.history[:copy(d.history, d.history[len(d.history)-last:])]
	}
}

// put returns the compressor to its pool.
func (d *deflater) put() {
	if d.fw == nil {
		return
	}
	if d.huffman {
		flateHuffWriters.Put(d.fw)
	} else {
		flateWriters.Put(d.fw)
	}
	d.fw = nil
}

// release gives the compressor back after a failed message. With context
// takeover the stream is broken anyway: the failure is final for writing.
func (d *deflater) release() {
	d.history = d.history[:0]
	d.put()
}

// checkIdle runs on the idle timer. A connection that compressed nothing
// since the last look gives its compressor back; one that did, or that is
// writing a message now, keeps it for another period. Closed connections
// are idle too, so their compressors go back to the pool.
func (d *deflater) checkIdle() {
	select {
	case d.c.mlock <- struct{}{}:
	default:
		// A message is being written: look again later. (Before the
		// timer is stored, which cannot take a whole period, wait for
		// the writer instead.)
		t := d.idle.Load()
		if t != nil {
			t.Reset(d.period)
			return
		}
		d.c.mlock <- struct{}{}
	}
	if d.used {
		d.used = false
		d.idle.Load().Reset(d.period)
	} else {
		d.armed = false
		d.put()
		if cap(d.history) > 2*len(d.history)+512 {
			// A large message once grew it: keep only what is needed.
			d.history = append([]byte(nil), d.history...)
		}
	}
	<-d.c.mlock
}
