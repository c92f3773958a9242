; deepdream-batch.scm: dreams every image of a folder into another folder, in GIMP 3.
;
; Copyright (C) 2026 the gimp-deepdream authors
; SPDX-License-Identifier: GPL-3.0-or-later
;
; Installed into GIMP 3's scripts folder, so that batch commands can call it
; (the same call as GIMP 2.10's deepdream-batch):
;
;   gimp-console-3.0 -i --quit --batch-interpreter=plug-in-script-fu-eval \
;     -b '(deepdream-batch "/photos/*.jpg" "/dreams" "googlenet"
;          "inception_4c/output" 4 10 1.5 -1 LAYER-MODE-NORMAL 100)'
;
; Each file matching the pattern is loaded, its selected layer dreamed on
; with plug-in-deepdream, the layers merged, and the result saved under the
; same name in the output folder, in the format its extension names. The
; output folder must exist: it is checked before any picture is dreamed. A
; file that fails is reported and skipped; when no picture was written the
; call fails, so that a batch run's exit status tells.

; "/photos/a.jpg" -> "a.jpg"
(define (deepdream-batch-basename path)
  (let loop ((i (- (string-length path) 1)))
    (cond ((< i 0) path)
          ((char=? (string-ref path i) (string-ref DIR-SEPARATOR 0))
           (substring path (+ i 1) (string-length path)))
          (else (loop (- i 1))))))

; GIMP 3's file-glob gives its names as a list or a vector, depending on
; the Script-Fu dialect: a list here either way.
(define (deepdream-batch-glob pattern)
  (let ((names (car (file-glob pattern 0))))
    (if (vector? names) (vector->list names) names)))

; "/dreams/" -> "/dreams", so that output names compare with input names.
(define (deepdream-batch-folder path)
  (let loop ((end (string-length path)))
    (if (and (> end 1)
             (char=? (string-ref path (- end 1)) (string-ref DIR-SEPARATOR 0)))
        (loop (- end 1))
        (substring path 0 end))))

; Dreams one file into out-dir; returns the path written, or #f for a file
; that the output would replace: a batch that dreams over its own inputs
; is more likely a mistyped folder than a wish.
(define (deepdream-batch-file in out-dir model layers octaves iterations
                              step-size seed layer-mode opacity)
  (let ((out (string-append (deepdream-batch-folder out-dir) DIR-SEPARATOR
                            (deepdream-batch-basename in))))
    (if (string=? out in)
        (begin
          (gimp-message (string-append "deepdream-batch: not dreaming " in
                                       ": the output would replace it;"
                                       " choose another output folder"))
          #f)
        (deepdream-batch-dream in out model layers octaves iterations
                               step-size seed layer-mode opacity))))

(define (deepdream-batch-dream in out model layers octaves iterations
                               step-size seed layer-mode opacity)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE in)))
         (layer (vector-ref (car (gimp-image-get-selected-layers image)) 0)))
    ; Keyword arguments: everything not named keeps the procedure's default.
    (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image image
                       #:drawables (vector layer) #:model model #:layers layers
                       #:octaves octaves #:iterations iterations
                       #:step-size step-size #:seed seed
                       #:layer-mode layer-mode #:opacity opacity)
    (gimp-image-merge-visible-layers image CLIP-TO-IMAGE)
    ; Saved whole or not at all: GIMP's savers write in place, so a full
    ; disk would leave a truncated file under the final name.
    (plug-in-deepdream-save #:run-mode RUN-NONINTERACTIVE #:image image #:file out)
    (gimp-image-delete image)
    out))

; Runs thunk, giving its value, or #f after saying why it failed: the
; message of the error, which Script-Fu's catch drops, is what a batch user
; needs to see ("cannot write /out/a.png: No space left on device").
(define (deepdream-batch-try in thunk)
  (let* ((why "")
         (hook *error-hook*)
         (result (catch #f
                   (set! *error-hook*
                         (lambda args
                           (if (and (pair? args) (string? (car args)))
                               (set! why (car args)))
                           (apply hook args)))
                   (thunk))))
    (set! *error-hook* hook)
    (if (not result)
        (gimp-message (string-append "deepdream-batch: skipped " in
                                     (if (string=? why "") "" ": ") why)))
    result))

; pattern: a glob ("/photos/*.jpg"); model: a card name or .onnx/.caffemodel file, ""
; for GoogLeNet; layers: "NAME[:WEIGHT],...", "" for the model's default;
; seed: -1 for a new one per image; layer-mode and opacity: how the dream is
; blended over the original (LAYER-MODE-NORMAL 100 shows the dream alone).
; Returns the number of images written.
(define (deepdream-batch pattern out-dir model layers octaves iterations
                         step-size seed layer-mode opacity)
  (if (null? (deepdream-batch-glob (deepdream-batch-folder out-dir)))
      (error (string-append "deepdream-batch: the output folder " out-dir
                            " does not exist")))
  (let ((files (deepdream-batch-glob pattern)))
    (if (null? files)
        (error (string-append "deepdream-batch: no file matches " pattern)))
    (let loop ((files files) (written 0))
      (if (null? files)
          (begin
            (gimp-message (string-append "deepdream-batch: "
                                         (number->string written)
                                         " image(s) written to " out-dir))
            (if (= written 0)
                (error "deepdream-batch: no image was written"))
            written)
          (let ((ok (deepdream-batch-try
                     (car files)
                     (lambda ()
                       (deepdream-batch-file (car files) out-dir model layers
                                             octaves iterations step-size seed
                                             layer-mode opacity)))))
            (loop (cdr files) (if ok (+ written 1) written)))))))
