; test-gimp3.scm: Script-Fu helpers for test-gimp3.sh, loaded by every batch
; command it runs in GIMP 3.
;
; Copyright (C) 2026 the gimp-deepdream authors
; SPDX-License-Identifier: GPL-3.0-or-later
;
; Results go to standard output as "key: value" lines that the shell script
; reads; GIMP 3's batch Script-Fu speaks the v2 dialect (results in lists).

; The test image at 256x144, so that a dream takes a moment.
(define (dd3-open path)
  (let ((img (car (gimp-file-load RUN-NONINTERACTIVE path))))
    (gimp-image-scale img 256 144)
    img))

(define (dd3-layers img) (car (gimp-image-get-layers img)))
(define (dd3-layer img) (vector-ref (dd3-layers img) 0))

(define (dd3-say key value)
  (display key)
  (display ": ")
  (display value)
  (newline))

; The layers, top to bottom, children after their group:
; name|mode|opacity|x|y|width|height|mask|type, where type is GimpImageType
; (1 RGBA, 3 GRAYA) and a child's name has its group's before a "/".
(define (dd3-report img)
  (dd3-say "layers" (vector-length (dd3-layers img)))
  (dd3-report-layers (dd3-layers img) ""))

(define (dd3-report-layers layers prefix)
    (let loop ((i 0))
      (if (< i (vector-length layers))
          (let* ((layer (vector-ref layers i))
                 (offsets (gimp-drawable-get-offsets layer)))
            (dd3-say "layer"
                     (string-append
                      prefix (car (gimp-item-get-name layer)) "|"
                      (number->string (car (gimp-layer-get-mode layer))) "|"
                      (number->string (car (gimp-layer-get-opacity layer))) "|"
                      (number->string (car offsets)) "|"
                      (number->string (cadr offsets)) "|"
                      (number->string (car (gimp-drawable-get-width layer))) "|"
                      (number->string (car (gimp-drawable-get-height layer))) "|"
                      (if (< (car (gimp-layer-get-mask layer)) 0) "nomask" "mask") "|"
                      (number->string (car (gimp-drawable-type layer)))))
            (if (= (car (gimp-item-is-group layer)) TRUE)
                (dd3-report-layers (car (gimp-item-get-children layer))
                                   (string-append prefix (car (gimp-item-get-name layer)) "/")))
            (loop (+ i 1))))))

; The mean of a layer's alpha, 0..1.
(define (dd3-alpha-mean layer)
  (car (gimp-drawable-histogram layer HISTOGRAM-ALPHA 0.0 1.0)))

; The image as it looks, flattened in a copy, to a PNG.
(define (dd3-save-composite img path)
  (let* ((copy (car (gimp-image-duplicate img)))
         (flat (car (gimp-image-flatten copy))))
    (gimp-file-save RUN-NONINTERACTIVE copy path)
    (gimp-image-delete copy)))

; Runs thunk; prints "call: failed" when it fails (GIMP prints the
; procedure's message itself), "call: ok" when not.
(define (dd3-try thunk)
  (let ((result (catch 'failed (begin (thunk) 'done))))
    (dd3-say "call" (if (eq? result 'done) "ok" "failed"))))

; ---- Animations ----

; The sky at 288x162 seen through a 256x144 canvas, as n layers, each the
; photo moved by (dx, dy) more than the one below it: a camera panning,
; with the bottom layer the first frame.
(define (dd3-open-panned path n dx dy)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE path)))
         (base (dd3-layer img)))
    (gimp-image-scale img 288 162)
    (gimp-image-resize img 256 144 0 0)
    (gimp-item-set-name base "frame 0 (100ms)")
    (let loop ((k 1))
      (if (< k n)
          (let ((copy (car (gimp-layer-copy base))))
            (gimp-image-insert-layer img copy 0 0)
            (gimp-item-set-name copy (string-append "frame " (number->string k) " (100ms)"))
            (gimp-layer-set-offsets copy (* k dx) (* k dy))
            (loop (+ k 1)))))
    img))

; Each layer of img alone over the canvas, bottom first, to PREFIX-0.png,
; PREFIX-1.png, ...
(define (dd3-save-frames img prefix)
  (let ((n (vector-length (dd3-layers img))))
    (let loop ((i 0))
      (if (< i n)
          (let* ((copy (car (gimp-image-duplicate img)))
                 (layers (dd3-layers copy))
                 (keep (vector-ref layers (- n 1 i))))
            (let remove ((j 0))
              (if (< j n)
                  (begin
                    (if (not (= j (- n 1 i)))
                        (gimp-image-remove-layer copy (vector-ref layers j)))
                    (remove (+ j 1)))))
            (dd3-save-composite copy (string-append prefix "-" (number->string i) ".png"))
            (gimp-image-delete copy)
            (loop (+ i 1)))))))

(define (dd3-image-count) (vector-length (car (gimp-get-images))))
