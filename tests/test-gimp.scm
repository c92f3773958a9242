; test-gimp.scm: Script-Fu helpers for test-gimp.c, loaded by every batch
; command it runs.
;
; Copyright (C) 2026 the gimp-deepdream authors
; SPDX-License-Identifier: GPL-3.0-or-later

; The test image at 256x144, so that a dream takes a moment.
(define (dd-open path)
  (let ((img (car (gimp-file-load RUN-NONINTERACTIVE path path))))
    (gimp-image-scale img 256 144)
    img))

(define (dd-layer img) (car (gimp-image-get-active-layer img)))

; The most recently opened image (batch commands do not share variables).
(define (dd-last-image) (vector-ref (cadr (gimp-image-list)) 0))

; One octave, one iteration, no jitter, a fixed seed: quick and reproducible.
(define (dd-dream img drw model layers octaves mode opacity)
  (car (plug-in-deepdream RUN-NONINTERACTIVE img drw model layers -1 octaves
                          1.4 1 1.5 0 1 -1 mode opacity -1 0 0 0 0)))

; The data of layer's parasite name, written to path.
(define (dd-save-parasite layer name path)
  (let ((port (open-output-file path)))
    (display (caddr (car (gimp-item-get-parasite layer name))) port)
    (close-output-port port)))

(define (dd-field port value)
  (display (if (number? value) (number->string value) value) port)
  (display "|" port))

; depth|name|mode|opacity|x|y|width|height|mask|type|bpp
(define (dd-report-layer port layer depth)
  (let ((offsets (gimp-drawable-offsets layer)))
    (for-each (lambda (v) (dd-field port v))
              (list depth (car (gimp-item-get-name layer))
                    (car (gimp-layer-get-mode layer))
                    (car (gimp-layer-get-opacity layer))
                    (car offsets) (cadr offsets)
                    (car (gimp-drawable-width layer))
                    (car (gimp-drawable-height layer))
                    (if (= (car (gimp-layer-get-mask layer)) -1) 0 1)
                    (car (gimp-drawable-type layer))
                    (car (gimp-drawable-bpp layer))))
    (newline port)
    (if (= (car (gimp-item-is-group layer)) 1)
        (dd-report-layers port (cadr (gimp-item-get-children layer)) (+ depth 1)))))

(define (dd-report-layers port layers depth)
  (let loop ((i 0))
    (if (< i (vector-length layers))
        (begin
          (dd-report-layer port (vector-ref layers i) depth)
          (loop (+ i 1))))))

; First line: base-type|precision|width|height; then every layer, top to
; bottom, children after their group.
(define (dd-report img path)
  (let ((port (open-output-file path)))
    (for-each (lambda (v) (dd-field port v))
              (list (car (gimp-image-base-type img))
                    (car (gimp-image-get-precision img))
                    (car (gimp-image-width img))
                    (car (gimp-image-height img))))
    (newline port)
    (dd-report-layers port (cadr (gimp-image-get-layers img)) 0)
    (close-output-port port)))

; The image as it shows, flattened (on a copy), to PNG.
(define (dd-save-composite img path)
  (let* ((copy (car (gimp-image-duplicate img)))
         (flat (car (gimp-image-merge-visible-layers copy CLIP-TO-IMAGE))))
    (file-png-save-defaults RUN-NONINTERACTIVE copy flat path path)
    (gimp-image-delete copy)))

; One layer alone, at its own size, to PNG.
(define (dd-save-layer img layer path)
  (file-png-save-defaults RUN-NONINTERACTIVE img layer path path))

; Everything a test compares before and after a run.
(define (dd-snapshot img dir tag)
  (dd-report img (string-append dir "/" tag ".txt"))
  (dd-save-composite img (string-append dir "/" tag ".png")))

; plug-in-deepdream-full as dd-dream, with the artists' controls: colours
; (0 dream, 1 source), seamless (0 or 1), a strength map (-1 = none) and a
; preset ("" = none).
(define (dd-dream-full img drw layers colours seamless mask preset)
  (car (plug-in-deepdream-full RUN-NONINTERACTIVE img drw "" layers -1 1
                               1.4 1 1.5 0 1 -1 LAYER-MODE-NORMAL 100 -1 0 0 0 0
                               colours seamless mask preset)))

; "nargs PROC: N" as a message (which gimp-console prints).
(define (dd-say-nargs proc)
  (gimp-message (string-append "nargs " proc ": "
                               (number->string (nth 6 (gimp-procedural-db-proc-info proc))))))

; ---- Animations ----

; The sky at 288x162 seen through a 256x144 canvas, as n layers, each the
; photo moved by (dx, dy) more than the one below it: a camera panning,
; with the bottom layer the first frame.
(define (dd-open-panned path n dx dy)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE path path)))
         (base (dd-layer img)))
    (gimp-image-scale img 288 162)
    (gimp-image-resize img 256 144 0 0)
    (gimp-item-set-name base "frame 0 (100ms)")
    (let loop ((k 1))
      (if (< k n)
          (let ((copy (car (gimp-layer-copy base FALSE))))
            (gimp-image-insert-layer img copy 0 0)
            (gimp-item-set-name copy (string-append "frame " (number->string k) " (100ms)"))
            (gimp-layer-set-offsets copy (* k dx) (* k dy))
            (loop (+ k 1)))))
    img))

; One octave of inception_3b, no jitter, seed 7: quick and reproducible.
(define (dd-frames img blend iterations)
  (car (plug-in-deepdream-frames RUN-NONINTERACTIVE img (dd-layer img) blend
                                 "" "inception_3b/output" -1 1 1.4 iterations 1.5 0 7 -1 0 0 0 0)))

(define (dd-zoom img drw frames zoom angle loop)
  (car (plug-in-deepdream-zoom RUN-NONINTERACTIVE img drw frames zoom angle loop
                               "" "inception_3b/output" -1 1 1.4 2 1.5 0 7 -1 0 0 0 0)))

; Each layer of img as it covers the canvas, bottom first, to
; PREFIX-0.png, PREFIX-1.png, ...
(define (dd-save-frames img prefix)
  (let* ((layers (cadr (gimp-image-get-layers img)))
         (n (vector-length layers)))
    (let loop ((i 0))
      (if (< i n)
          (let* ((copy (car (gimp-image-duplicate img)))
                 (layer (vector-ref (cadr (gimp-image-get-layers copy)) (- n 1 i)))
                 (path (string-append prefix "-" (number->string i) ".png")))
            (gimp-layer-resize-to-image-size layer)
            (file-png-save-defaults RUN-NONINTERACTIVE copy layer path path)
            (gimp-image-delete copy)
            (loop (+ i 1)))))))

(define (dd-image-count) (car (gimp-image-list)))
