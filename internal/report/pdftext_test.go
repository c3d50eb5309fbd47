package report

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
)

// streamRE finds the body of each PDF stream object.
var streamRE = regexp.MustCompile(`(?s)stream\r?\n(.*?)endstream`)

// textShown is a crude text extractor for the PDFs this package writes, so
// the key figures can be checked on machines without pdftotext: it inflates
// each stream and decodes the string operands of Tj, which the writer emits
// as UTF-16BE for embedded TrueType fonts. It is not a general PDF parser.
func textShown(pdf []byte) string {
	var out strings.Builder
	for _, m := range streamRE.FindAllSubmatch(pdf, -1) {
		zr, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			continue
		}
		content, err := io.ReadAll(zr)
		if err != nil && len(content) == 0 {
			continue
		}
		for _, s := range tjStrings(content) {
			out.WriteString(decodeUTF16BE(s))
			out.WriteByte('\n')
		}
	}
	return out.String()
}

// tjStrings returns the unescaped literal strings followed by Tj.
func tjStrings(content []byte) [][]byte {
	var res [][]byte
	for i := 0; i < len(content); i++ {
		if content[i] != '(' {
			continue
		}
		var s []byte
		j := i + 1
		for ; j < len(content) && content[j] != ')'; j++ {
			c := content[j]
			if c == '\\' && j+1 < len(content) {
				j++
				switch e := content[j]; e {
				case 'n':
					c = '\n'
				case 'r':
					c = '\r'
				case 't':
					c = '\t'
				case 'b':
					c = '\b'
				case 'f':
					c = '\f'
				default:
					if e >= '0' && e <= '7' {
						v := 0
						for k := 0; k < 3 && j < len(content) && content[j] >= '0' && content[j] <= '7'; k++ {
							v = v*8 + int(content[j]-'0')
							j++
						}
						j--
						c = byte(v)
					} else {
						c = e
					}
				}
			}
			s = append(s, c)
		}
		if bytes.HasPrefix(bytes.TrimLeft(content[min(j+1, len(content)):], " "), []byte("Tj")) {
			res = append(res, s)
		}
		i = j
	}
	return res
}

func decodeUTF16BE(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return string(utf16.Decode(u))
}

// textRun is one string shown on a page, at a baseline in points from the
// bottom left corner.
type textRun struct {
	Page int
	X, Y float64
	Size float64
	Bold bool
	Text string
}

var (
	fontRefRE = regexp.MustCompile(`/(F[0-9a-f]+) (\d+) 0 R`)
	fontObjRE = regexp.MustCompile(`(?m)^(\d+) 0 obj\s*<</Type /Font\s*/Subtype /Type0\s*/BaseFont /(\S+)`)
	textOpRE  = regexp.MustCompile(`BT /(F[0-9a-f]+) ([0-9.]+) Tf ET|BT ([0-9.-]+) ([0-9.-]+) Td \(`)
)

// textRuns lists the text shown on each page with its position, font size
// and weight, for the PDFs this package writes (see textShown).
func textRuns(pdf []byte) []textRun {
	objFont := map[string]string{}
	for _, m := range fontObjRE.FindAllSubmatch(pdf, -1) {
		objFont[string(m[1])] = string(m[2])
	}
	bold := map[string]bool{}
	for _, m := range fontRefRE.FindAllSubmatch(pdf, -1) {
		bold[string(m[1])] = strings.HasSuffix(objFont[string(m[2])], "B")
	}
	var runs []textRun
	page := 0
	for _, m := range streamRE.FindAllSubmatch(pdf, -1) {
		zr, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			continue
		}
		content, _ := io.ReadAll(zr)
		if !bytes.Contains(content, []byte(" Tj ")) {
			continue
		}
		page++
		var size float64
		var isBold bool
		for _, loc := range textOpRE.FindAllSubmatchIndex(content, -1) {
			if loc[2] >= 0 {
				isBold = bold[string(content[loc[2]:loc[3]])]
				size, _ = strconv.ParseFloat(string(content[loc[4]:loc[5]]), 64)
				continue
			}
			x, _ := strconv.ParseFloat(string(content[loc[6]:loc[7]]), 64)
			y, _ := strconv.ParseFloat(string(content[loc[8]:loc[9]]), 64)
			s := tjStrings(content[loc[1]-1:])
			if len(s) == 0 {
				continue
			}
			runs = append(runs, textRun{Page: page, X: x, Y: y, Size: size, Bold: isBold, Text: decodeUTF16BE(s[0])})
		}
	}
	return runs
}
